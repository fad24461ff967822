import type {
  ContentBlock,
  PermissionOptionKind,
  RequestPermissionRequest,
  RequestPermissionResponse,
  SessionUpdate,
} from "@agentclientprotocol/sdk";
import PQueue from "p-queue";
import {
  type AcpClient,
  AgentTurnError,
  type Attachment,
  TurnCancelledError,
  type TurnResult,
  type TurnUsage,
} from "./acp/acp-client.js";
import type { AgentModels } from "./acp/models.js";
import { toolLabel } from "./acp/tool-label.js";
import type { SessionStore, TopicKey } from "./db/session-store.js";
import type { TurnJournal } from "./db/turn-journal.js";
import type { Logger } from "./logger.js";
import { ensureWorkspace, workspacePathFor } from "./workspace.js";

/** How a turn ended, for the view. */
export type TurnOutcome =
  | { kind: "answered"; result: TurnResult }
  | { kind: "cancelled" }
  | { kind: "interrupted" }
  | { kind: "failed"; reason: string };

/**
 * How one turn shows in its topic. Implemented by the Telegram layer and handed in with each job,
 * so the runner never imports it. `start` is called when the turn leaves the queue; `finish` last.
 * Methods must not throw: the view logs its own delivery errors.
 */
export type TurnView = {
  /** The turn is running in `workspacePath` (show typing; files the agent links resolve there). */
  start(info: { workspacePath: string }): void;
  /** A live ACP session/update of this turn (text, tool calls, plan...). */
  update(update: SessionUpdate): void;
  /** A one-line notice (context not restored, tool refused...). */
  notice(line: string): Promise<void>;
  /**
   * Asks the user to answer a session/request_permission (ACP "Requesting Permission"); resolves
   * with the chosen option, or `cancelled` on timeout or when `signal` aborts.
   */
  askPermission(request: RequestPermissionRequest, signal: AbortSignal): Promise<RequestPermissionResponse>;
  /** The turn is over; deliver the rest of the answer. */
  finish(outcome: TurnOutcome): Promise<void>;
};

/** One prompt for the agent of a topic key, with the files that go with it. */
export type TurnJob = {
  key: TopicKey;
  prompt: ContentBlock[];
  attachments?: Attachment[];
  /** The Update that carried the prompt (journalled). */
  updateId?: number;
  /** The interrupted turn this one retries (journalled). */
  retryOf?: number;
  view: TurnView;
};

/** Why a running turn was aborted: /cancel, TURN_TIMEOUT_MS, or a shutdown. */
type AbortReason = "user" | "timeout" | "shutdown";

/** How the agent's permission requests are answered (PERMISSION_MODE). */
export type PermissionMode = "ask" | "allow" | "deny";

/** The last finished turn of a key, for /status. */
export type LastTurn = {
  stopReason: string;
  durationMs: number;
  finishedAt: Date;
  usage?: TurnUsage;
};

/** A key's state, for /status. */
export type TopicStatus = {
  sessionId: string | null;
  model: string;
  workspacePath: string;
  /** Running time of the current turn, ms; undefined when idle. */
  runningForMs: number | undefined;
  queued: number;
  last: LastTurn | undefined;
};

type Queued = { job: TurnJob; turnId: number; settle: () => void };
type KeyState = {
  /** True while a pump works through the queue (set and cleared synchronously with the queue check). */
  pumping: boolean;
  running?: { startedAt: number; abort: (reason: AbortReason) => void };
  queue: Queued[];
  last?: LastTurn;
};

/**
 * The per-topic queue: one turn at a time per key (never two agent processes on one session),
 * different keys in parallel. Wires the session store, the workspace and the ACP client, applies
 * the permission policy, and keeps what /status and /cancel need.
 */
export type Runner = ReturnType<typeof createRunner>;

/** Creates the runner; see {@link Runner}. */
export function createRunner(deps: {
  store: SessionStore;
  journal: TurnJournal;
  acpClient: AcpClient;
  workspaceBasePath: string;
  /** Copied into each new workspace before session/new (WORKSPACE_TEMPLATE_DIR), when set. */
  workspaceTemplateDir?: string;
  permissionMode: PermissionMode;
  /** At most this many agent processes at once, across all keys (MAX_CONCURRENT_TURNS). */
  maxConcurrentTurns: number;
  /** A turn running longer is cancelled (session/cancel, then the process is ended), ms. */
  turnTimeoutMs: number;
  /** Called with every model offer an agent makes (to keep the /model catalog fresh). */
  onModels?: (models: AgentModels) => void;
  logger: Logger;
}) {
  const { store, journal, acpClient, logger } = deps;
  const states = new Map<string, KeyState>();
  /** Agent slots across all keys; turns beyond the cap wait here in order. */
  const slots = new PQueue({ concurrency: deps.maxConcurrentTurns });
  let draining = false;
  const stateOf = (key: TopicKey) => {
    const id = keyId(key);
    let state = states.get(id);
    if (!state) {
      state = { pumping: false, queue: [] };
      states.set(id, state);
    }
    return state;
  };

  async function decidePermission(
    job: TurnJob,
    request: RequestPermissionRequest,
    signal: AbortSignal,
  ): Promise<RequestPermissionResponse> {
    const toolKind = request.toolCall.kind ?? "other";
    const label = toolLabel(request);
    const select = (...kinds: PermissionOptionKind[]): RequestPermissionResponse | undefined => {
      for (const kind of kinds) {
        const option = request.options.find((o) => o.kind === kind);
        if (option) return { outcome: { outcome: "selected", optionId: option.optionId } };
      }
      return undefined;
    };
    if (deps.permissionMode === "deny") {
      await job.view.notice(`🚫 Refused ${label} (PERMISSION_MODE=deny).`);
      return select("reject_once", "reject_always") ?? { outcome: { outcome: "cancelled" } };
    }
    if (deps.permissionMode === "allow") {
      logger.info(
        { topic: job.key, toolCall: request.toolCall },
        "permission allowed by PERMISSION_MODE=allow",
      );
      return select("allow_once", "allow_always") ?? { outcome: { outcome: "cancelled" } };
    }
    if (store.hasPermissionGrant(job.key, toolKind)) {
      const allowed = select("allow_always", "allow_once");
      if (allowed) {
        await job.view.notice(`✅ Allowed ${label}: you chose "always" for ${toolKind} tools in this topic.`);
        return allowed;
      }
    }
    const response = await job.view.askPermission(request, signal);
    const chosen =
      response.outcome.outcome === "selected"
        ? request.options.find(
            (o) => response.outcome.outcome === "selected" && o.optionId === response.outcome.optionId,
          )
        : undefined;
    if (chosen?.kind === "allow_always") store.grantPermission(job.key, toolKind);
    return response;
  }

  async function runJob(job: TurnJob, turnId: number, state: KeyState): Promise<void> {
    const log = logger.child({
      topic: job.key,
      turnId,
      ...(job.updateId === undefined ? {} : { update_id: job.updateId }),
    });
    if (slots.pending >= deps.maxConcurrentTurns) {
      void job.view.notice(
        `⏳ ${deps.maxConcurrentTurns} turns are running; yours is queued with ${slots.size} ahead.`,
      );
    }
    // Until the turn has a slot, /cancel and a shutdown only mark it.
    let abortedWhileWaiting: AbortReason | undefined;
    state.running = {
      startedAt: Date.now(),
      abort: (reason) => {
        abortedWhileWaiting ??= reason;
      },
    };
    await slots.add(async () => {
      if (abortedWhileWaiting !== undefined) {
        const outcome = abortedOutcome(abortedWhileWaiting, deps.turnTimeoutMs);
        journal.drop(turnId, outcome.kind === "interrupted" ? "interrupted" : "cancelled");
        state.running = undefined;
        await job.view.finish(outcome);
        return;
      }
      if (!journal.start(turnId)) return;
      await runTurn(job, turnId, state, log);
    });
  }

  async function runTurn(job: TurnJob, turnId: number, state: KeyState, log: Logger): Promise<void> {
    const startedAt = Date.now();
    const abort = new AbortController();
    let abortReason: AbortReason | undefined;
    state.running = {
      startedAt,
      abort: (reason) => {
        abortReason ??= reason;
        abort.abort(reason);
      },
    };
    const timer = setTimeout(() => state.running?.abort("timeout"), deps.turnTimeoutMs);
    timer.unref();
    let outcome: TurnOutcome;
    let delivered: Promise<void> | undefined;
    try {
      const row = store.get(job.key);
      // A stored workspace stays the session's cwd: agents scope sessions by directory.
      const cwd = await ensureWorkspace(
        row?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, job.key),
        deps.workspaceTemplateDir,
      );
      job.view.start({ workspacePath: cwd });
      const result = await acpClient.runTurn(
        {
          cwd,
          sessionId: row?.sessionId ?? undefined,
          prompt: job.prompt,
          ...(job.attachments ? { attachments: job.attachments } : {}),
          model: row?.model ?? store.getModel(job.key),
          signal: abort.signal,
        },
        {
          onUpdate: (update) => job.view.update(update),
          onNotice: (line) => void job.view.notice(line),
          onSessionId: (sessionId) => store.upsert(job.key, sessionId, cwd),
          onModels: (models) => deps.onModels?.(models),
          onPermission: (request, signal) => decidePermission(job, request, signal),
          // The answer goes out while the agent process is still being ended.
          onResult: (done) => {
            delivered = job.view.finish(outcomeOf(done, abortReason, deps.turnTimeoutMs));
          },
        },
      );
      store.upsert(job.key, result.sessionId, cwd);
      outcome = outcomeOf(result, abortReason, deps.turnTimeoutMs);
      const journalState =
        outcome.kind === "answered" ? "completed" : outcome.kind === "failed" ? "failed" : outcome.kind;
      journal.finish(turnId, journalState, {
        answer: result.text,
        stopReason: result.stopReason,
        ...(outcome.kind === "failed" ? { error: outcome.reason } : {}),
      });
      state.last = {
        stopReason: result.stopReason,
        durationMs: Date.now() - startedAt,
        finishedAt: new Date(),
        ...(result.usage ? { usage: result.usage } : {}),
      };
      log.info(
        {
          sessionId: result.sessionId,
          setup: result.setup,
          stopReason: result.stopReason,
          ms: Date.now() - startedAt,
        },
        "turn completed",
      );
    } catch (err) {
      if (err instanceof TurnCancelledError || abortReason !== undefined) {
        outcome = abortedOutcome(abortReason ?? "user", deps.turnTimeoutMs);
        log.info(
          { reason: abortReason, err: err instanceof TurnCancelledError ? undefined : err },
          "turn aborted",
        );
      } else {
        const reason =
          err instanceof AgentTurnError ? err.message : "an internal error occurred (see the bot's log)";
        outcome = { kind: "failed", reason };
        log.error({ err }, "turn failed");
      }
      const journalState = outcome.kind === "answered" ? "completed" : outcome.kind;
      journal.finish(turnId, journalState, outcome.kind === "failed" ? { error: outcome.reason } : {});
      state.last = {
        stopReason: outcome.kind === "failed" ? "failed" : outcome.kind,
        durationMs: Date.now() - startedAt,
        finishedAt: new Date(),
      };
    } finally {
      clearTimeout(timer);
      state.running = undefined;
    }
    await (delivered ?? job.view.finish(outcome));
  }

  async function pump(state: KeyState): Promise<void> {
    for (;;) {
      const next = state.queue.shift();
      if (!next) {
        state.pumping = false;
        return;
      }
      try {
        await runJob(next.job, next.turnId, state);
      } catch (err) {
        logger.error({ err, topic: next.job.key }, "turn runner failed");
      } finally {
        next.settle();
      }
    }
  }

  /** Drops a key's queued turns, journalling them as `state`. */
  function dropQueued(state: KeyState, as: "cancelled" | "interrupted"): number {
    const dropped = state.queue.splice(0);
    for (const item of dropped) {
      journal.drop(item.turnId, as);
      if (as === "interrupted") void item.job.view.finish({ kind: "interrupted" });
      item.settle();
    }
    return dropped.length;
  }

  return {
    /**
     * Queues a turn behind the key's running and queued turns. Resolves when this turn is over
     * (answered, cancelled, dropped or failed; failures are reported to the topic and logged).
     */
    enqueue(job: TurnJob): Promise<void> {
      const state = stateOf(job.key);
      store.touch(job.key);
      const turnId = journal.create(job.key, promptText(job.prompt), {
        ...(job.updateId !== undefined ? { updateId: job.updateId } : {}),
        ...(job.attachments ? { attachments: job.attachments } : {}),
        ...(job.retryOf !== undefined ? { retryOf: job.retryOf } : {}),
      });
      if (draining) {
        journal.drop(turnId, "interrupted");
        void job.view.finish({ kind: "interrupted" });
        return Promise.resolve();
      }
      const done = new Promise<void>((settle) => state.queue.push({ job, turnId, settle }));
      if (!state.pumping) {
        state.pumping = true;
        void pump(state);
      }
      return done;
    },

    /**
     * /cancel: cancels the key's running turn (session/cancel; its permission prompts resolve as
     * cancelled) and drops its queued prompts.
     */
    cancel(key: TopicKey): { cancelledRunning: boolean; dropped: number } {
      const state = states.get(keyId(key));
      if (!state) return { cancelledRunning: false, dropped: 0 };
      const dropped = dropQueued(state, "cancelled");
      const running = state.running;
      running?.abort("user");
      return { cancelledRunning: running !== undefined, dropped };
    },

    /**
     * Graceful shutdown: takes no new turns, lets running ones finish for up to `graceMs`, then
     * cancels them and drops the queued ones, all journalled as interrupted (offered for retry on
     * the next start). Resolves when every turn is over.
     */
    async shutdown(graceMs: number): Promise<void> {
      draining = true;
      const finished = this.idle();
      const inTime = await Promise.race([
        finished.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref()),
      ]);
      if (!inTime) {
        logger.warn({ graceMs }, "turns still running after the shutdown grace period; interrupting them");
        for (const state of states.values()) {
          dropQueued(state, "interrupted");
          state.running?.abort("shutdown");
        }
      }
      await finished;
    },

    /**
     * Runs an interrupted turn's prompt again (the Retry button), as a new turn of the same key.
     * Returns why it cannot be retried, or undefined when it was queued.
     */
    retry(turnId: number, userId: number, view: TurnView): string | undefined {
      const turn = journal.get(turnId);
      if (turn?.state !== "interrupted") return "This turn cannot be retried.";
      if (turn.userId !== userId) return "Only the user whose prompt this was can retry it.";
      if (journal.retryOf(turnId)) return "This turn was already retried.";
      const key = { chatId: turn.chatId, threadId: turn.threadId, userId: turn.userId };
      void this.enqueue({
        key,
        prompt: [{ type: "text", text: turn.prompt }],
        ...(turn.attachments ? { attachments: turn.attachments } : {}),
        retryOf: turnId,
        view,
      });
      return undefined;
    },

    /**
     * The key's workspace (the stored one, or a new one under WORKSPACE_BASE_PATH), created if needed.
     *
     * @throws the fs error when it cannot be created.
     */
    workspaceFor(key: TopicKey): Promise<string> {
      return ensureWorkspace(
        store.get(key)?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, key),
        deps.workspaceTemplateDir,
      );
    },

    /** What /status shows for the key. */
    status(key: TopicKey): TopicStatus {
      const state = states.get(keyId(key));
      const row = store.get(key);
      return {
        sessionId: row?.sessionId ?? null,
        model: row?.model ?? store.getModel(key),
        workspacePath: row?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, key),
        runningForMs: state?.running ? Date.now() - state.running.startedAt : undefined,
        queued: state?.queue.length ?? 0,
        last: state?.last,
      };
    },

    /** Resolves once every queued and running turn is over. */
    async idle(): Promise<void> {
      for (;;) {
        const busy = [...states.values()].filter((s) => s.pumping);
        if (busy.length === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** The outcome of a finished prompt, given why (if at all) the turn was aborted. */
function outcomeOf(result: TurnResult, reason: AbortReason | undefined, timeoutMs: number): TurnOutcome {
  if (result.stopReason === "cancelled" && reason !== undefined && reason !== "user") {
    return abortedOutcome(reason, timeoutMs);
  }
  return { kind: "answered", result };
}

function abortedOutcome(reason: AbortReason, timeoutMs: number): TurnOutcome {
  if (reason === "timeout") {
    return {
      kind: "failed",
      reason: `the turn took longer than ${formatDuration(timeoutMs)} and was cancelled`,
    };
  }
  return reason === "shutdown" ? { kind: "interrupted" } : { kind: "cancelled" };
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The text of a prompt's text blocks, for the journal. */
function promptText(prompt: ContentBlock[]): string {
  return prompt.map((block) => (block.type === "text" ? block.text : "")).join("\n");
}

function keyId(key: TopicKey): string {
  return `${key.chatId}:${key.threadId}:${key.userId}`;
}
