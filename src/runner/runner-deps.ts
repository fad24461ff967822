import type { AcpClient } from "../acp/acp-client.js";
import type { ModelCatalog } from "../acp/model-catalog.js";
import type { PermissionMode } from "../domain/permission.js";
import type { Store } from "../domain/store.js";
import type { TurnControl } from "../domain/turn-control.js";
import type { TurnQueue } from "../domain/turn-queue.js";
import type { Logger } from "../logger.js";
import type { TurnExecutionDeps } from "./turn-execution.js";
import type { FileFetcher, Runner, Transcriber, TurnViews } from "./types.js";

/** What the runner wires together; durations in ms. */
export type RunnerDeps = {
  store: Store;
  queue: TurnQueue;
  /**
   * Where turns run: here (the ACP client and its model catalog), or on workers that `control`
   * reaches (ROLE=web: this process only journals and queues turns, and never starts an agent).
   */
  acpClient?: AcpClient;
  models?: ModelCatalog;
  control?: TurnControl;
  /**
   * Tells an interrupted turn's topic, with the Retry button, when a distributed queue's worker
   * interrupted it (its own stop, or the turn of a dead worker it took over); marks it told. Absent
   * in ROLE=all, where the next start tells them.
   */
  tellInterrupted?: (turnId: number) => Promise<void>;
  /** A distributed queue's graceful stop (ROLE=worker): queued turns stay for the shards' next owners. */
  stopQueue?: (graceMs: number) => Promise<void>;
  /** Makes the view of each turn (the Telegram renderer in the bot, stdout in `npm run chat`). */
  views: TurnViews;
  /** Fetches files the user sent when their turn runs (absent: prompts carry no files). */
  fetchFile?: FileFetcher;
  /** Speech-to-text for voice notes and audio files when the agent takes no audio (TRANSCRIBE_URL). */
  transcribe?: Transcriber;
  workspaceBasePath: string;
  /** Where adopted sessions' cwds may lie besides the workspace base (ADOPT_ROOTS). */
  adoptRoots?: readonly string[];
  /** Copied into each new workspace before session/new (WORKSPACE_TEMPLATE_DIR), when set. */
  workspaceTemplateDir?: string | undefined;
  permissionMode: PermissionMode;
  /** A turn running longer is cancelled (session/cancel, then the process is ended). */
  turnTimeoutMs: number;
  /** The bot's MCP server, handed to agents that take HTTP MCP servers (see TurnExecutionDeps.mcp). */
  mcp?: TurnExecutionDeps["mcp"];
  /** After the shutdown grace, how long interrupted agents may take to end before shutdown returns, ms. */
  stopTailMs?: number;
  logger: Logger;
};

/** The runner and what only the composition root calls. */
export type RunnerHandle = Runner & {
  /**
   * Graceful shutdown: takes no new turns, lets running ones finish for up to `graceMs`, then
   * cancels them and drops the queued ones, all journalled as interrupted (offered for retry on the
   * next start). Resolves when every turn is over. With `stopQueue` (ROLE=worker) the queue stops
   * instead and queued turns stay for the shards' next owners; with `control` (ROLE=web) nothing runs here.
   */
  shutdown(graceMs: number): Promise<void>;
  /** Resolves once every queued and running turn is over. */
  idle(): Promise<void>;
};
