import { type InferSelectModel, sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { SettingChoices } from "../domain/session-settings.js";
import { type Attachment, AUTO_MODEL, type PendingFile, TURN_STATES } from "../domain/turn.js";

/**
 * One row per topic key (chat, forum topic, user): the ACP session, its workspace and the chosen model.
 * The kiroclaw bot's `sessions` table (user_id, thread_id, session_id, model), keyed by chat as
 * well, since message_thread_id is only unique inside one chat. `thread_id` is 0 for messages
 * outside a forum topic.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    chatId: integer("chat_id").notNull(),
    threadId: integer("thread_id").notNull(),
    userId: integer("user_id").notNull(),
    /** ACP session id; null until the first session/new (a /model choice can come first). */
    sessionId: text("session_id"),
    /** Absolute path of the agent's cwd for this key. */
    workspacePath: text("workspace_path"),
    model: text("model").notNull().default(AUTO_MODEL),
    /** The key's other setting choices (JSON object: setting id -> value; /settings, /mode, /effort). */
    settings: text("settings", { mode: "json" }).$type<SettingChoices>(),
    /** When the key last sent a prompt (ISO 8601, UTC); SESSION_TTL_DAYS counts from here. */
    lastActivityAt: text("last_activity_at"),
    /** ISO 8601 (UTC). */
    createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
    /** ISO 8601 (UTC). */
    updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.threadId, t.userId] })],
);

/** A row of {@link sessions}. */
export type SessionRow = InferSelectModel<typeof sessions>;

/**
 * "Allow always" answers to session/request_permission, per topic key and ACP tool kind
 * (read, edit, execute...): later requests for the same kind are allowed without asking.
 */
export const permissionGrants = sqliteTable(
  "permission_grants",
  {
    chatId: integer("chat_id").notNull(),
    threadId: integer("thread_id").notNull(),
    userId: integer("user_id").notNull(),
    /** ACP ToolKind, or "other" when the agent gave none. */
    toolKind: text("tool_kind").notNull(),
    /** ISO 8601 (UTC). */
    createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.threadId, t.userId, t.toolKind] })],
);

/**
 * The turn journal: every prompt, its answer and how it ended. Survives crashes (turns a crash left
 * queued or running become interrupted at start-up) and is the conversation history Drizzle Studio
 * shows.
 */
export const turns = sqliteTable(
  "turns",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    chatId: integer("chat_id").notNull(),
    threadId: integer("thread_id").notNull(),
    userId: integer("user_id").notNull(),
    /** The Telegram Update that carried the prompt; null for a retry. */
    updateId: integer("update_id"),
    prompt: text("prompt").notNull(),
    /** Files that went with the prompt (JSON array of {path, name, mimeType, size}). */
    attachments: text("attachments", { mode: "json" }).$type<Attachment[]>(),
    /** Files the user sent, fetched from Telegram when the turn runs (JSON array of PendingFile). */
    files: text("files", { mode: "json" }).$type<PendingFile[]>(),
    /** The turn this one retries (after an interruption). */
    retryOf: integer("retry_of"),
    /** The agent's final answer text. */
    answer: text("answer"),
    state: text("state", { enum: TURN_STATES }).notNull().default("queued"),
    /** ACP stop reason of a completed turn. */
    stopReason: text("stop_reason"),
    /** One line on why the turn failed or was interrupted. */
    error: text("error"),
    /** Whether the topic was told of the interruption (interrupted turns only). */
    interruptNotified: integer("interrupt_notified", { mode: "boolean" }).notNull().default(false),
    /** "cut": a shutdown stopped the answer's posting (offered after the restart); "offered"; null. */
    delivery: text("delivery", { enum: ["cut", "offered"] }),
    /** The agent process the turn runs in: pid (its group id), start time (/proc stat) and marker. */
    agentPid: integer("agent_pid"),
    agentStartTime: text("agent_start_time"),
    agentMarker: text("agent_marker"),
    /** ISO 8601 (UTC). */
    createdAt: text("created_at").notNull(),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
  },
  (t) => [
    index("turns_key_idx").on(t.chatId, t.threadId, t.userId, t.id),
    index("turns_state_idx").on(t.state),
    index("turns_update_idx").on(t.updateId),
  ],
);

/** A row of {@link turns}. */
export type TurnRow = InferSelectModel<typeof turns>;

/** Update ids already handled (a bounded window), so a re-sent webhook call is not processed twice. */
export const seenUpdates = sqliteTable("seen_updates", {
  updateId: integer("update_id").primaryKey(),
  /** ISO 8601 (UTC). */
  seenAt: text("seen_at").notNull(),
});

/**
 * Scheduled prompts (/schedule and the MCP `schedule` tool): each runs as a normal turn of its key
 * at `next_run_at`, once or on every occurrence of `cron` in `time_zone`.
 */
export const schedules = sqliteTable(
  "schedules",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    chatId: integer("chat_id").notNull(),
    threadId: integer("thread_id").notNull(),
    userId: integer("user_id").notNull(),
    prompt: text("prompt").notNull(),
    /** 5-field cron expression; null for a one-shot. */
    cron: text("cron"),
    /** IANA time zone the cron expression is read in (SCHEDULE_TZ when it was made). */
    timeZone: text("time_zone").notNull(),
    /** ISO 8601 (UTC). */
    nextRunAt: text("next_run_at").notNull(),
    /** ISO 8601 (UTC). */
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("schedules_key_idx").on(t.chatId, t.threadId, t.userId),
    index("schedules_next_idx").on(t.nextRunAt),
  ],
);

/** A row of {@link schedules}. */
export type ScheduleRow = InferSelectModel<typeof schedules>;

/**
 * Bearer tokens of the bot's MCP server, one per agent session set-up, stored as SHA-256 hex (the
 * token itself only ever travels to the agent in session/new|load|resume).
 */
export const mcpTokens = sqliteTable(
  "mcp_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    chatId: integer("chat_id").notNull(),
    threadId: integer("thread_id").notNull(),
    userId: integer("user_id").notNull(),
    /** ISO 8601 (UTC). */
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("mcp_tokens_key_idx").on(t.chatId, t.threadId, t.userId)],
);
