import type { StopReason } from "@agentclientprotocol/sdk";
import type { SettingChoices } from "./session-settings.js";
import type { TopicKey } from "./topic-key.js";

/** A file saved for the agent: absolute path, name shown, MIME type, size in bytes. */
export type Attachment = { path: string; name: string; mimeType: string; size: number };

/**
 * A file the user sent with a prompt, still on Telegram's side: fetched into the topic's workspace
 * when the turn runs (Bot API getFile), so the prompt keeps its place in the queue meanwhile.
 * `messageId` makes its saved name unique; `size` is Telegram's, in bytes, when it gave one.
 * `audio`: a voice note or audio file (Bot API `voice`, `audio`), which reaches the agent as an ACP
 * audio block or as its transcript rather than as a file.
 */
export type PendingFile = {
  fileId: string;
  name: string;
  mimeType: string;
  size?: number;
  messageId: number;
  audio?: boolean;
};

/** The model value that means "leave the agent's default" (the `sessions.model` column default). */
export const AUTO_MODEL = "auto";

/** States of a turn in the journal; every change is a compare-and-set from an expected state. */
export const TURN_STATES = ["queued", "running", "completed", "failed", "cancelled", "interrupted"] as const;
/** One of {@link TURN_STATES}. */
export type TurnState = (typeof TURN_STATES)[number];
/** The states a turn ends in. */
export type FinalTurnState = Exclude<TurnState, "queued" | "running">;

/** Token and context usage, as far as the agent reports it (ACP usage_update, PromptResponse.usage). */
export type TurnUsage = {
  /** Context window tokens in use and its size (usage_update `used` / `size`). */
  contextUsed?: number;
  contextSize?: number;
  /** Context used, percent, when the agent reports only that (Kiro's `_kiro.dev/metadata`). */
  contextPercent?: number;
  cost?: { amount: number; currency: string };
  /** Tokens of this turn (PromptResponse.usage, unstable in ACP v1). */
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
};

/**
 * A topic key's stored session (the `sessions` table): its ACP session id (null until the first
 * session/new), workspace, model choice and timestamps (ISO 8601, UTC).
 */
export type SessionRecord = TopicKey & {
  sessionId: string | null;
  workspacePath: string | null;
  model: string;
  /** Setting choices besides the model (setting id -> value), or null when there are none. */
  settings: SettingChoices | null;
  lastActivityAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/** One journalled prompt (the `turns` table); timestamps ISO 8601 (UTC). */
export type TurnRecord = TopicKey & {
  id: number;
  /** The Telegram Update that carried the prompt; null for a retry or a prompt from `npm run chat`. */
  updateId: number | null;
  prompt: string;
  attachments: Attachment[] | null;
  /** Files to fetch from Telegram before the turn runs. */
  files: PendingFile[] | null;
  /** The interrupted turn this one retries. */
  retryOf: number | null;
  answer: string | null;
  state: TurnState;
  stopReason: string | null;
  error: string | null;
  interruptNotified: boolean;
  /**
   * A completed turn whose answer a shutdown cut before it was all posted: `cut` (to offer after the
   * restart), `offered` (the topic was offered it); null otherwise.
   */
  delivery: "cut" | "offered" | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

/** A prompt to journal as queued. */
export type NewTurn = {
  key: TopicKey;
  prompt: string;
  updateId?: number;
  attachments?: Attachment[];
  files?: PendingFile[];
  retryOf?: number;
};

/**
 * The shard lease under which a worker runs a turn (Postgres mode, table `shard_lease`): the turn's
 * journal writes carry it and are refused once the shard has a newer epoch or the lease has run out,
 * so a worker that lost its shard can no longer complete the turn (fencing). The embedded store
 * has one process and no leases, and ignores it.
 */
export type TurnFence = { shard: number; workerId: string; epoch: number };

/**
 * The agent process a turn ran in, as recorded in the journal: its pid (= its process group id),
 * its start time (/proc/<pid>/stat field 22, clock ticks since boot: a reused pid has another) and
 * its marker (the TG_ACP_AGENT value its environment and its children's carry).
 */
export type AgentRecord = { pid: number; startTime: string; marker: string };

/** What a finished turn records. */
export type TurnEnd = { answer?: string; stopReason?: string; error?: string };

/**
 * How a turn's session was set up (ACP "Session Setup"): created, resumed or loaded in a new
 * process, or `kept`: the topic's kept-alive process still held it.
 */
export type SessionSetup = "new" | "resumed" | "loaded" | "kept";

/** The outcome of a completed session/prompt. */
export type TurnResult = {
  sessionId: string;
  setup: SessionSetup;
  /** ACP stop reason: end_turn | max_tokens | max_turn_requests | refusal | cancelled. */
  stopReason: StopReason;
  /** All live agent_message_chunk text, concatenated. */
  text: string;
  usage?: TurnUsage;
};
