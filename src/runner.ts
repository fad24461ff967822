import type {
  ContentBlock,
  PermissionOptionKind,
  RequestPermissionRequest,
  RequestPermissionResponse,
  SessionUpdate,
} from "@agentclientprotocol/sdk";
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
import type { Logger } from "./logger.js";
import { ensureWorkspace, workspacePathFor } from "./workspace.js";

/** How a turn ended, for the view. */
export type TurnOutcome =
  | { kind: "answered"; result: TurnResult }
  | { kind: "cancelled" }
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
export type TurnJob = { key: TopicKey; prompt: ContentBlock[]; attachments?: Attachment[]; view: TurnView };

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

type Queued = { job: TurnJob; settle: () => void };
type KeyState = {
  /** True while a pump works through the queue (set and cleared synchronously with the queue check). */
  pumping: boolean;
  running?: { startedAt: number; abort: AbortController };
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
  acpClient: AcpClient;
  workspaceBasePath: string;
  permissionMode: PermissionMode;
  /** Called with every model offer an agent makes (to keep the /model catalog fresh). */
  onModels?: (models: AgentModels) => void;
  logger: Logger;
}) {
  const { store, acpClient, logger } = deps;
  const states = new Map<string, KeyState>();
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

  async function runJob(job: TurnJob, state: KeyState): Promise<void> {
    const log = logger.child({ topic: job.key });
    const startedAt = Date.now();
    const abort = new AbortController();
    state.running = { startedAt, abort };
    let outcome: TurnOutcome;
    let delivered: Promise<void> | undefined;
    try {
      const row = store.get(job.key);
      // A stored workspace stays the session's cwd: agents scope sessions by directory.
      const cwd = await ensureWorkspace(
        row?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, job.key),
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
            delivered = job.view.finish({ kind: "answered", result: done });
          },
        },
      );
      store.upsert(job.key, result.sessionId, cwd);
      outcome = { kind: "answered", result };
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
      if (err instanceof TurnCancelledError) {
        outcome = { kind: "cancelled" };
        log.info("turn cancelled before its prompt started");
      } else {
        const reason =
          err instanceof AgentTurnError ? err.message : "an internal error occurred (see the bot's log)";
        outcome = { kind: "failed", reason };
        log.error({ err }, "turn failed");
      }
      state.last = {
        stopReason: outcome.kind === "cancelled" ? "cancelled" : "failed",
        durationMs: Date.now() - startedAt,
        finishedAt: new Date(),
      };
    } finally {
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
        await runJob(next.job, state);
      } catch (err) {
        logger.error({ err, topic: next.job.key }, "turn runner failed");
      } finally {
        next.settle();
      }
    }
  }

  return {
    /**
     * Queues a turn behind the key's running and queued turns. Resolves when this turn is over
     * (answered, cancelled, dropped or failed; failures are reported to the topic and logged).
     */
    enqueue(job: TurnJob): Promise<void> {
      const state = stateOf(job.key);
      const done = new Promise<void>((settle) => state.queue.push({ job, settle }));
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
      const dropped = state.queue.splice(0);
      for (const item of dropped) item.settle();
      const running = state.running;
      running?.abort.abort();
      return { cancelledRunning: running !== undefined, dropped: dropped.length };
    },

    /**
     * The key's workspace (the stored one, or a new one under WORKSPACE_BASE_PATH), created if needed.
     *
     * @throws the fs error when it cannot be created.
     */
    workspaceFor(key: TopicKey): Promise<string> {
      return ensureWorkspace(store.get(key)?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, key));
    },

    /** How many turns of the key wait behind the running one. */
    queued(key: TopicKey): number {
      return states.get(keyId(key))?.queue.length ?? 0;
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

function keyId(key: TopicKey): string {
  return `${key.chatId}:${key.threadId}:${key.userId}`;
}
