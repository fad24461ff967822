import type { ContentBlock } from "@agentclientprotocol/sdk";
import type { AcpClient } from "../acp/acp-client.js";
import { TurnCancelledError } from "../acp/errors.js";
import type { ModelCatalog } from "../acp/model-catalog.js";
import { formatDuration } from "../domain/duration.js";
import { UserFacingError } from "../domain/errors.js";
import type { Store } from "../domain/store.js";
import { topicKeyId } from "../domain/topic-key.js";
import {
  type Attachment,
  AUTO_MODEL,
  type FinalTurnState,
  type PendingFile,
  type TurnResult,
} from "../domain/turn.js";
import type { QueuedTurn } from "../domain/turn-queue.js";
import type { Logger } from "../logger.js";
import { ensureWorkspace, workspacePathFor } from "../workspace.js";
import { transcriptsFor } from "./audio-input.js";
import type { PermissionPolicy } from "./permission-policy.js";
import type { SessionControls } from "./session-controls.js";
import type { FileFetcher, LastTurn, McpAccess, Transcriber, TurnOutcome, TurnView } from "./types.js";

/** Why a running turn was aborted: /cancel, TURN_TIMEOUT_MS, or a shutdown. */
export type AbortReason = "user" | "timeout" | "shutdown";

/** A running turn, as /status and /cancel see it. */
export type RunningTurn = {
  turnId: number;
  key: QueuedTurn["key"];
  startedAt: number;
  abort: (reason: AbortReason) => void;
};

/** What a turn's execution needs; durations in ms. */
export type TurnExecutionDeps = {
  store: Store;
  /** Keeps each topic's settings offer. */
  controls: Pick<SessionControls, "remember" | "rememberCommands">;
  acpClient: AcpClient;
  models: ModelCatalog;
  policy: PermissionPolicy;
  workspaceBasePath: string;
  /** Copied into each new workspace before session/new (WORKSPACE_TEMPLATE_DIR), when set. */
  workspaceTemplateDir: string | undefined;
  /** A turn running longer is cancelled (session/cancel, then the process is ended). */
  turnTimeoutMs: number;
  /** Fetches files the user sent (see FileFetcher). */
  fetchFile?: FileFetcher;
  /** Transcribes voice notes and audio files for an agent that takes no audio (TRANSCRIBE_URL), when set. */
  transcribe?: Transcriber;
  /**
   * The bot's MCP server for agents that take HTTP MCP servers; `revokeAfterTurn` (no keep-alive:
   * the session's process ends with the turn) revokes the key's token once the turn is over.
   */
  mcp?: { access: McpAccess; revokeAfterTurn: boolean };
  /** Whether the notice `kind` is new for `key` (notices said once per topic). */
  firstNotice: (key: QueuedTurn["key"], kind: string) => boolean;
  logger: Logger;
};

/**
 * Runs one queued turn to its end: claims it in the journal (queued → running; a turn dropped
 * meanwhile is skipped), prepares the key's workspace, runs the ACP turn with the key's session and
 * model, stores the session id, journals how it ended, and hands the outcome to the view. `track`
 * is told of the running turn (for /status and /cancel) and of its end. With a distributed queue,
 * every journal write carries the turn's `fence`, and the turn stops like at a shutdown when its
 * `signal` aborts (the lease on its shard is lost). Never throws.
 *
 * @returns once the agent is done: the turn's summary for /status (undefined when it did not run)
 *   and `delivered`, which settles when the view has delivered the answer.
 */
export function createTurnExecution(deps: TurnExecutionDeps) {
  const { store, acpClient, logger, mcp } = deps;

  /** The user's files of a turn, fetched into its workspace; a failure ends the turn visibly. */
  async function fetchFiles(files: PendingFile[], cwd: string, signal: AbortSignal): Promise<Attachment[]> {
    const fetched: Attachment[] = [];
    for (const file of files) {
      if (!deps.fetchFile) throw new UserFacingError(`${file.name} cannot be fetched here`);
      try {
        fetched.push(await deps.fetchFile(file, cwd, signal));
      } catch (err) {
        if (signal.aborted || err instanceof UserFacingError) throw err;
        throw new UserFacingError(`could not fetch ${file.name} from Telegram (${(err as Error).message})`, {
          cause: err,
        });
      }
    }
    return fetched;
  }

  return async function execute(
    queued: QueuedTurn,
    view: TurnView,
    track: (running: RunningTurn | undefined) => void,
  ): Promise<{ last: LastTurn | undefined; delivered: Promise<void> }> {
    const { key, turnId } = queued;
    const log = logger.child({ topic: key, turnId });
    const startedAt = Date.now();
    const abort = new AbortController();
    let abortReason: AbortReason | undefined;
    track({
      turnId,
      key,
      startedAt,
      abort: (reason) => {
        abortReason ??= reason;
        abort.abort(reason);
      },
    });
    const timer = setTimeout(() => {
      abortReason ??= "timeout";
      abort.abort("timeout");
    }, deps.turnTimeoutMs);
    // A distributed queue's lease on the topic is gone: another worker owns it, stop as for a shutdown.
    const leaseLost = () => {
      abortReason ??= "shutdown";
      abort.abort("shutdown");
    };
    if (queued.signal?.aborted) leaseLost();
    else queued.signal?.addEventListener("abort", leaseLost, { once: true });
    let outcome: TurnOutcome | undefined;
    let last: LastTurn | undefined;
    let delivered: Promise<void> | undefined;
    try {
      if (!(await store.claimTurn(turnId, queued.fence)))
        return { last: undefined, delivered: Promise.resolve() };
      const turn = await store.turn(turnId);
      if (!turn) return { last: undefined, delivered: Promise.resolve() };
      const row = await store.session(key);
      // A stored workspace stays the session's cwd: agents scope sessions by directory.
      const cwd = await ensureWorkspace(
        row?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, key),
        deps.workspaceTemplateDir,
      );
      view.start({ workspacePath: cwd, turnId });
      const files = turn.files ?? [];
      const fetched = await fetchFiles(files, cwd, abort.signal);
      // Voice notes and audio files (saved like the rest) go as audio blocks or transcripts.
      const audio = fetched.filter((_, i) => files[i]?.audio);
      const attachments = [...(turn.attachments ?? []), ...fetched.filter((_, i) => !files[i]?.audio)];
      const prompt: ContentBlock[] = [{ type: "text", text: turn.prompt }];
      const result = await acpClient.runTurn(
        {
          cwd,
          sessionId: row?.sessionId ?? undefined,
          ...(row?.sessionId ? { sessionSavedAt: Date.parse(row.updatedAt) } : {}),
          prompt,
          ...(attachments.length > 0 ? { attachments } : {}),
          ...(audio.length > 0
            ? {
                audio,
                audioAsText: transcriptsFor({
                  transcribe: deps.transcribe,
                  view,
                  promptChars: turn.prompt.length,
                }),
              }
            : {}),
          model: row?.model ?? AUTO_MODEL,
          settings: row?.settings ?? {},
          signal: abort.signal,
          keepAliveKey: topicKeyId(key),
          ...(mcp ? { mcpServers: () => mcp.access.grant(key) } : {}),
        },
        {
          onUpdate: (update) => view.update(update),
          onNotice: (line, once) => {
            if (once === undefined || deps.firstNotice(key, once)) void view.notice(line);
          },
          onSessionId: (sessionId) => {
            store.saveSession(key, sessionId, cwd).catch((err: unknown) => {
              log.error({ err }, "could not store the new session id");
            });
          },
          onModels: (offer) => deps.models.remember(offer),
          onSettings: (offer) => deps.controls.remember(key, offer),
          onCommands: (commands) => {
            deps.controls.rememberCommands(key, commands);
            view.agentCommands?.(commands);
          },
          onTitle: (title) => view.title?.(title),
          onSettingDropped: (id, line) => {
            void view.notice(line);
            store.setSetting(key, id, undefined).catch((err: unknown) => {
              log.error({ err, id }, "could not forget a setting choice");
            });
          },
          onAgent: (agent) => {
            store.recordAgent(turnId, agent).catch((err: unknown) => {
              log.warn({ err }, "could not record the turn's agent process");
            });
          },
          onPermission: (request, signal) => deps.policy(key, view, request, signal),
          // The answer goes out while the agent process is still being ended.
          onResult: (done) => {
            delivered = view.finish(outcomeOf(done, abortReason, deps.turnTimeoutMs));
          },
        },
      );
      await store.saveSession(key, result.sessionId, cwd);
      outcome = outcomeOf(result, abortReason, deps.turnTimeoutMs);
      await store.finishTurn(
        turnId,
        journalState(outcome),
        {
          answer: result.text,
          stopReason: result.stopReason,
          ...(outcome.kind === "failed" ? { error: outcome.reason } : {}),
        },
        queued.fence,
      );
      last = {
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
          ms: last.durationMs,
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
          err instanceof UserFacingError ? err.message : "an internal error occurred (see the bot's log)";
        outcome = { kind: "failed", reason };
        log.error({ err }, "turn failed");
      }
      await store
        .finishTurn(
          turnId,
          journalState(outcome),
          outcome.kind === "failed" ? { error: outcome.reason } : {},
          queued.fence,
        )
        .catch((journalErr: unknown) => log.error({ err: journalErr }, "could not journal the turn's end"));
      last = {
        stopReason: outcome.kind === "failed" ? "failed" : outcome.kind,
        durationMs: Date.now() - startedAt,
        finishedAt: new Date(),
      };
    } finally {
      clearTimeout(timer);
      queued.signal?.removeEventListener("abort", leaseLost);
      track(undefined);
      if (deps.mcp?.revokeAfterTurn) {
        await deps.mcp.access
          .revoke(key)
          .catch((err: unknown) => log.warn({ err }, "could not revoke MCP tokens"));
      }
    }
    return { last, delivered: delivered ?? (outcome ? view.finish(outcome) : Promise.resolve()) };
  };
}

function journalState(outcome: TurnOutcome): FinalTurnState {
  return outcome.kind === "answered" ? "completed" : outcome.kind;
}

/** The outcome of a finished prompt, given why (if at all) the turn was aborted. */
function outcomeOf(result: TurnResult, reason: AbortReason | undefined, timeoutMs: number): TurnOutcome {
  if (result.stopReason === "cancelled" && reason !== undefined && reason !== "user") {
    return abortedOutcome(reason, timeoutMs);
  }
  return { kind: "answered", result };
}

/** The outcome of a turn aborted for `reason`. */
export function abortedOutcome(reason: AbortReason, timeoutMs: number): TurnOutcome {
  if (reason === "timeout") {
    return {
      kind: "failed",
      reason: `the turn took longer than ${formatDuration(timeoutMs)} and was cancelled`,
    };
  }
  return reason === "shutdown" ? { kind: "interrupted" } : { kind: "cancelled" };
}
