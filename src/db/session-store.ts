import { and, eq, type SQLWrapper, sql } from "drizzle-orm";
import type { OpenDatabase } from "./database.js";
import { type SessionRow, sessions } from "./schema.js";

/** Identifies one conversation: a user in a forum topic of a chat (`threadId` 0 = no topic). */
export type TopicKey = { chatId: number; threadId: number; userId: number };

/** The model value that means "the agent's default". */
export const DEFAULT_MODEL = "auto";

/**
 * The seeds' C3 Session Store over the `sessions` table: get, upsert, set model, get model, close.
 * Keys are (chat_id, thread_id, user_id); timestamps are ISO 8601 strings.
 */
export type SessionStore = ReturnType<typeof createSessionStore>;

/** Creates the session store on an open database; `close()` closes that database. */
export function createSessionStore(database: OpenDatabase, now: () => Date = () => new Date()) {
  const { db } = database;
  const byKey = (key: Record<keyof TopicKey, number | SQLWrapper>) =>
    and(
      eq(sessions.chatId, key.chatId),
      eq(sessions.threadId, key.threadId),
      eq(sessions.userId, key.userId),
    );
  const target = [sessions.chatId, sessions.threadId, sessions.userId];
  // get and upsert run on every turn: prepared once, they cost about what raw better-sqlite3 does
  // (building the query each call made them 4-10x slower; see npm run bench).
  const placeholderKey = {
    chatId: sql.placeholder("chatId"),
    threadId: sql.placeholder("threadId"),
    userId: sql.placeholder("userId"),
  };
  const getByKey = db.select().from(sessions).where(byKey(placeholderKey)).prepare();
  const upsertSession = db
    .insert(sessions)
    .values({
      ...placeholderKey,
      sessionId: sql.placeholder("sessionId"),
      workspacePath: sql.placeholder("workspacePath"),
      createdAt: sql.placeholder("at"),
      updatedAt: sql.placeholder("at"),
    })
    .onConflictDoUpdate({
      target,
      set: {
        sessionId: sql`excluded.session_id`,
        workspacePath: sql`excluded.workspace_path`,
        updatedAt: sql`excluded.updated_at`,
      },
    })
    .prepare();

  return {
    /** The key's row, or undefined when the key has none. */
    get(key: TopicKey): SessionRow | undefined {
      return getByKey.get({ chatId: key.chatId, threadId: key.threadId, userId: key.userId });
    },

    /**
     * Stores the key's ACP session id and workspace. An existing row keeps its model and created_at
     * (unlike the seed's INSERT OR REPLACE, which reset the model to 'auto').
     */
    upsert(key: TopicKey, sessionId: string, workspacePath: string): void {
      const at = now().toISOString();
      upsertSession.run({
        chatId: key.chatId,
        threadId: key.threadId,
        userId: key.userId,
        sessionId,
        workspacePath,
        at,
      });
    },

    /** Stores the key's model choice, creating the row when the key has none yet. */
    setModel(key: TopicKey, model: string): void {
      const at = now().toISOString();
      db.insert(sessions)
        .values({ ...key, model, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target, set: { model, updatedAt: at } })
        .run();
    },

    /** The key's model, or {@link DEFAULT_MODEL} when the key has no row. */
    getModel(key: TopicKey): string {
      return (
        db.select({ model: sessions.model }).from(sessions).where(byKey(key)).get()?.model ?? DEFAULT_MODEL
      );
    },

    /** Closes the underlying database connection. */
    close(): void {
      database.close();
    },
  };
}
