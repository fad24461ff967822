import type { NewSchedule, ScheduleRecord } from "./schedule.js";
import type { TopicKey } from "./topic-key.js";

/** Whether the store can write: `ok`, or why not (one line) and since when (Date.now()). */
export type StoreHealth = { ok: true } | { ok: false; reason: string; since: number };

import type {
  AgentRecord,
  FinalTurnState,
  NewTurn,
  SessionRecord,
  TurnEnd,
  TurnFence,
  TurnRecord,
} from "./turn.js";

/**
 * Everything the bot keeps between restarts, as whole operations: the sessions of topic keys, the
 * turn journal, the update ids already handled, and "allow always" permission grants. Every method
 * is async so that a networked database can stand behind it; the embedded SQLite store is the one
 * implementation today. Timestamps are ISO 8601 strings (UTC). A write the database cannot do now
 * (disk full, I/O error) rejects with StoreUnavailableError and turns {@link health} to not ok;
 * other failures reject with the database's error.
 */
export interface Store {
  /** Whether writes work now (kept by every write; re-checked by the store itself while they fail). */
  health(): StoreHealth;
  /** Calls `listener` on every change of {@link health}; returns the unsubscribe. */
  onHealthChange(listener: (health: StoreHealth) => void): () => void;
  /**
   * Forgets an update id {@link firstSeen} recorded, because taking the Update in failed (it is
   * answered 503 and Telegram must be able to send it again).
   */
  forgetUpdate(updateId: number): void;

  /**
   * Dedupe of Telegram Updates (Bot API "Getting updates": an Update the bot did not acknowledge is
   * sent again): records `updateId` and says whether this is the first time it was seen.
   */
  firstSeen(updateId: number): Promise<boolean>;

  /** The key's session row, or undefined when the key has none. */
  session(key: TopicKey): Promise<SessionRecord | undefined>;
  /** Stores the key's ACP session id and workspace; an existing row keeps its model and created_at. */
  saveSession(key: TopicKey, sessionId: string, workspacePath: string): Promise<void>;
  /** Forgets the key's ACP session id (the next turn starts a new session); workspace and model stay. */
  clearSession(key: TopicKey): Promise<void>;
  /** Stores the key's model choice, creating its row when needed. */
  setModel(key: TopicKey, model: string): Promise<void>;
  /**
   * Stores one setting choice of the key (`value` undefined forgets it), creating its row when
   * needed; the other choices stay.
   */
  setSetting(key: TopicKey, settingId: string, value: string | undefined): Promise<void>;
  /** The key's model choice, or "auto" when it has none. */
  model(key: TopicKey): Promise<string>;
  /** Every user's rows of one forum topic (a topic closed: their sessions end). */
  topicSessions(chatId: number, threadId: number): Promise<SessionRecord[]>;
  /** One user's rows in one chat, across topics, most recently updated first. */
  listSessions(chatId: number, userId: number): Promise<SessionRecord[]>;
  /**
   * Removes the rows of keys idle for more than `ttlDays` days, with their journal and permission
   * grants (workspace files stay). Returns the keys removed.
   */
  expireIdle(ttlDays: number): Promise<TopicKey[]>;

  /** Whether the key has an "allow always" for the ACP tool kind (read, edit, execute...). */
  hasPermissionGrant(key: TopicKey, toolKind: string): Promise<boolean>;
  /** Remembers an "allow always" for the key and ACP tool kind. */
  grantPermission(key: TopicKey, toolKind: string): Promise<void>;

  /**
   * Journals a prompt as queued and records the key's activity (SESSION_TTL_DAYS counts from it), in
   * one transaction. Returns the new turn's id, or undefined when a turn of the same `updateId` is
   * already journalled (the Update was delivered twice).
   */
  enqueueTurn(turn: NewTurn): Promise<number | undefined>;
  /**
   * queued → running; false when the turn was cancelled or interrupted meanwhile, or (with a
   * `fence`) when the worker no longer holds that lease. The turn remembers the fence it was
   * claimed under.
   */
  claimTurn(id: number, fence?: TurnFence): Promise<boolean>;
  /**
   * running → a final state, with what the turn produced; false when the turn was not running, or
   * (with a `fence`) was claimed under another lease or the lease is no longer held.
   */
  finishTurn(id: number, state: FinalTurnState, end?: TurnEnd, fence?: TurnFence): Promise<boolean>;
  /**
   * queued or running → interrupted, with `error` as the reason: a turn whose worker died under it,
   * written by the shard's new owner (its own `fence` must still hold). False when the turn had
   * already ended.
   */
  interruptTurn(id: number, error: string, fence?: TurnFence): Promise<boolean>;
  /** queued → cancelled (dropped by /cancel) or interrupted (dropped by a shutdown). */
  dropTurn(id: number, state: "cancelled" | "interrupted", error?: string): Promise<boolean>;
  /**
   * Start-up recovery: turns a crash left queued or running become interrupted. Returns every
   * interrupted turn whose topic has not been told yet, oldest first.
   */
  recoverInterrupted(): Promise<TurnRecord[]>;
  /** Records that the topic was told of an interrupted turn. */
  markInterruptNotified(id: number): Promise<void>;
  /** Records the agent process a turn runs in (for ending it after a crash of the bot). */
  recordAgent(id: number, agent: AgentRecord): Promise<void>;
  /** The agent processes recorded for turns still queued or running (a crash left them so). */
  recordedAgents(): Promise<Array<AgentRecord & { turnId: number }>>;
  /** Marks a completed turn's answer as cut by a shutdown (`cut`) or offered to its topic (`offered`). */
  markDelivery(id: number, delivery: "cut" | "offered"): Promise<void>;
  /** Completed turns whose answer a shutdown cut and that were not offered yet, oldest first. */
  cutAnswers(): Promise<TurnRecord[]>;
  /** One turn by id. */
  turn(id: number): Promise<TurnRecord | undefined>;
  /** The turn that retried `id`, if any. */
  retryOf(id: number): Promise<TurnRecord | undefined>;

  /**
   * Stores a schedule unless its key already has `limit` of them (SCHEDULES_PER_TOPIC), in one
   * transaction. Returns the stored record, or undefined when the key is at its limit.
   */
  addSchedule(schedule: NewSchedule, limit: number): Promise<ScheduleRecord | undefined>;
  /** The key's schedules, soonest first. */
  schedules(key: TopicKey): Promise<ScheduleRecord[]>;
  /** One schedule by id. */
  schedule(id: number): Promise<ScheduleRecord | undefined>;
  /** Every schedule due at `at` (next_run_at <= at), soonest first. */
  dueSchedules(at: Date): Promise<ScheduleRecord[]>;
  /** The earliest next_run_at of all schedules (ISO 8601), or undefined when there are none. */
  nextScheduleAt(): Promise<string | undefined>;
  /**
   * Compare-and-set of a schedule that fires: when its next_run_at is still `from`, moves it to
   * `to`, or deletes it when `to` is null (a one-shot). True when this caller won (it then runs the
   * turn); false when another run already advanced or cancelled it.
   */
  advanceSchedule(id: number, from: string, to: string | null): Promise<boolean>;
  /** Deletes a schedule; false when there was none. */
  cancelSchedule(id: number): Promise<boolean>;

  /**
   * Stores the SHA-256 hex `tokenHash` of an MCP bearer token handed to `key`'s agent session (the
   * `mcp_tokens` table). The token itself is never stored.
   */
  saveMcpToken(tokenHash: string, key: TopicKey): Promise<void>;
  /** The key whose session holds the token with this hash, or undefined (unknown or revoked). */
  mcpTokenKey(tokenHash: string): Promise<TopicKey | undefined>;
  /** Revokes the MCP tokens of `key`, or every token when no key is given (start-up). */
  revokeMcpTokens(key?: TopicKey): Promise<void>;

  /** Writes what is buffered and closes the database. */
  close(): Promise<void>;
}
