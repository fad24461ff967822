import { type InferSelectModel, isNotNull, sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { SettingChoices } from "../../domain/session-settings.js";
import { type Attachment, AUTO_MODEL, type PendingFile, TURN_STATES } from "../../domain/turn.js";

// The PostgreSQL twin of src/db/schema.ts: the same tables, columns and meaning, with Postgres
// types (bigint ids, since chat ids pass 2^31; timestamptz instead of ISO text), plus the tables
// that only several processes need (shard_lease, workers). Its migrations live in drizzle/pg/.

/** Telegram ids: chat ids of supergroups are -100xxxxxxxxxx, past int4; they stay below 2^53. */
const id = (name: string) => bigint(name, { mode: "number" });
const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** One row per topic key (chat, forum topic, user): the ACP session, its workspace and the model. */
export const sessions = pgTable(
  "sessions",
  {
    chatId: id("chat_id").notNull(),
    threadId: id("thread_id").notNull(),
    userId: id("user_id").notNull(),
    /** ACP session id; null until the first session/new (a /model choice can come first). */
    sessionId: text("session_id"),
    /** Absolute path of the agent's cwd for this key. */
    workspacePath: text("workspace_path"),
    model: text("model").notNull().default(AUTO_MODEL),
    /** The key's other setting choices (setting id -> value; /settings, /mode, /effort). */
    settings: jsonb("settings").$type<SettingChoices>(),
    /** When the key last sent a prompt; SESSION_TTL_DAYS counts from here. */
    lastActivityAt: at("last_activity_at"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.threadId, t.userId] })],
);

/** A row of {@link sessions}. */
export type PgSessionRow = InferSelectModel<typeof sessions>;

/** "Allow always" answers to session/request_permission, per topic key and ACP tool kind. */
export const permissionGrants = pgTable(
  "permission_grants",
  {
    chatId: id("chat_id").notNull(),
    threadId: id("thread_id").notNull(),
    userId: id("user_id").notNull(),
    /** ACP ToolKind, or "other" when the agent gave none. */
    toolKind: text("tool_kind").notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.threadId, t.userId, t.toolKind] })],
);

/**
 * The turn journal, as in SQLite, plus the lease a worker held when it claimed the turn
 * (`lease_shard`, `lease_epoch`, `worker_id`): the turn's later writes must come under the same
 * lease, so a worker that lost its shard cannot complete it (fencing). One turn per update id.
 */
export const turns = pgTable(
  "turns",
  {
    id: id("id").primaryKey().generatedAlwaysAsIdentity(),
    chatId: id("chat_id").notNull(),
    threadId: id("thread_id").notNull(),
    userId: id("user_id").notNull(),
    /** The Telegram Update that carried the prompt; null for a retry. */
    updateId: id("update_id"),
    prompt: text("prompt").notNull(),
    /** Files that went with the prompt ({path, name, mimeType, size}[]). */
    attachments: jsonb("attachments").$type<Attachment[]>(),
    /** Files the user sent, fetched from Telegram when the turn runs (PendingFile[]). */
    files: jsonb("files").$type<PendingFile[]>(),
    /** The turn this one retries (after an interruption). */
    retryOf: id("retry_of"),
    answer: text("answer"),
    state: text("state", { enum: TURN_STATES }).notNull().default("queued"),
    stopReason: text("stop_reason"),
    error: text("error"),
    interruptNotified: boolean("interrupt_notified").notNull().default(false),
    /** "cut": a shutdown stopped the answer's posting (offered after the restart); "offered"; null. */
    delivery: text("delivery", { enum: ["cut", "offered"] }),
    /** The agent process the turn runs in: pid (its group id), start time (/proc stat) and marker. */
    agentPid: integer("agent_pid"),
    agentStartTime: text("agent_start_time"),
    agentMarker: text("agent_marker"),
    createdAt: at("created_at").notNull(),
    startedAt: at("started_at"),
    finishedAt: at("finished_at"),
    leaseShard: integer("lease_shard"),
    leaseEpoch: id("lease_epoch"),
    workerId: text("worker_id"),
  },
  (t) => [
    index("turns_key_idx").on(t.chatId, t.threadId, t.userId, t.id),
    index("turns_state_idx").on(t.state),
    uniqueIndex("turns_update_idx").on(t.updateId).where(isNotNull(t.updateId)),
  ],
);

/** A row of {@link turns}. */
export type PgTurnRow = InferSelectModel<typeof turns>;

/** Update ids already handled (a bounded window), so a re-sent webhook call is not processed twice. */
export const seenUpdates = pgTable("seen_updates", {
  updateId: id("update_id").primaryKey(),
  seenAt: at("seen_at").notNull().defaultNow(),
});

/**
 * Who works which shard of topics: one row per shard, held by `worker_id` until `lease_until`
 * (the database's clock). Taking a shard bumps `epoch`; a worker's writes for a turn carry the
 * epoch it held, and are refused once the row has moved on (fencing).
 */
export const shardLease = pgTable("shard_lease", {
  shard: integer("shard").primaryKey(),
  workerId: text("worker_id").notNull().default(""),
  epoch: id("epoch").notNull().default(0),
  leaseUntil: at("lease_until").notNull().default(sql`'epoch'::timestamptz`),
});

/** Live workers (each renews its row with its leases): the fair share of shards is SHARDS / live workers. */
export const workers = pgTable("workers", {
  workerId: text("worker_id").primaryKey(),
  aliveUntil: at("alive_until").notNull(),
  /** Turns it runs plus turns ready in its shards, at its last heartbeat (the shard balance). */
  load: integer("load").notNull().default(0),
  startedAt: at("started_at").notNull().defaultNow(),
});

/** Scheduled prompts, as in SQLite: each runs as a normal turn of its key at `next_run_at`. */
export const schedules = pgTable(
  "schedules",
  {
    id: id("id").primaryKey().generatedAlwaysAsIdentity(),
    chatId: id("chat_id").notNull(),
    threadId: id("thread_id").notNull(),
    userId: id("user_id").notNull(),
    prompt: text("prompt").notNull(),
    /** 5-field cron expression; null for a one-shot. */
    cron: text("cron"),
    /** IANA time zone the cron expression is read in. */
    timeZone: text("time_zone").notNull(),
    nextRunAt: at("next_run_at").notNull(),
    createdAt: at("created_at").notNull(),
  },
  (t) => [
    index("schedules_key_idx").on(t.chatId, t.threadId, t.userId),
    index("schedules_next_idx").on(t.nextRunAt),
  ],
);

/** A row of {@link schedules}. */
export type PgScheduleRow = InferSelectModel<typeof schedules>;

/** Bearer tokens of the bot's MCP server (SHA-256 hex), as in SQLite. */
export const mcpTokens = pgTable(
  "mcp_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    chatId: id("chat_id").notNull(),
    threadId: id("thread_id").notNull(),
    userId: id("user_id").notNull(),
    createdAt: at("created_at").notNull(),
  },
  (t) => [index("mcp_tokens_key_idx").on(t.chatId, t.threadId, t.userId)],
);
