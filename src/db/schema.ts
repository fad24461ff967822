import { type InferSelectModel, sql } from "drizzle-orm";
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per topic key (chat, forum topic, user): the ACP session, its workspace and the chosen model.
 * Follows the seeds' C3 `sessions` schema, keyed by chat as well, since message_thread_id is only
 * unique inside one chat. `thread_id` is 0 for messages outside a forum topic.
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
    model: text("model").notNull().default("auto"),
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
