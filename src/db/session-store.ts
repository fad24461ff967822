import { and, desc, eq, type SQLWrapper, sql } from "drizzle-orm";
import type { TopicKey } from "../domain/topic-key.js";
import { AUTO_MODEL } from "../domain/turn.js";
import type { OpenDatabase } from "./database.js";
import { permissionGrants, type SessionRow, sessions, turns } from "./schema.js";

/** Rows of `table` (any table keyed by chat_id, thread_id, user_id) that belong to `key`. */
function ofKey(table: typeof turns | typeof permissionGrants, key: TopicKey) {
  return and(eq(table.chatId, key.chatId), eq(table.threadId, key.threadId), eq(table.userId, key.userId));
}

/**
 * The session store over the `sessions` table: get, upsert, set model, get model, list, close; plus
 * the key's remembered permission grants. Keys are (chat_id, thread_id, user_id);
 * timestamps are ISO 8601 strings.
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
     * (an INSERT OR REPLACE would reset the model to 'auto').
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

    /** Stores one setting choice of the key (undefined forgets it), creating the row when needed. */
    setSetting(key: TopicKey, settingId: string, value: string | undefined): void {
      const at = now().toISOString();
      database.sqlite.transaction(() => {
        const settings = { ...(getByKey.get({ ...key })?.settings ?? {}) };
        if (value === undefined) delete settings[settingId];
        else settings[settingId] = value;
        db.insert(sessions)
          .values({ ...key, settings, createdAt: at, updatedAt: at })
          .onConflictDoUpdate({ target, set: { settings, updatedAt: at } })
          .run();
      })();
    },

    /** The key's model, or {@link AUTO_MODEL} when the key has no row. */
    getModel(key: TopicKey): string {
      return db.select({ model: sessions.model }).from(sessions).where(byKey(key)).get()?.model ?? AUTO_MODEL;
    },

    /**
     * Forgets the key's ACP session id (the next turn starts a new session); the workspace and the
     * model stay. No-op for a key without a row.
     */
    clearSession(key: TopicKey): void {
      db.update(sessions).set({ sessionId: null, updatedAt: now().toISOString() }).where(byKey(key)).run();
    },

    /** The rows of one user in one chat, across topics, most recently updated first. */
    list(chatId: number, userId: number): SessionRow[] {
      return db
        .select()
        .from(sessions)
        .where(and(eq(sessions.chatId, chatId), eq(sessions.userId, userId)))
        .orderBy(desc(sessions.updatedAt))
        .all();
    },

    /** Every user's rows of one forum topic. */
    topicRows(chatId: number, threadId: number): SessionRow[] {
      return db
        .select()
        .from(sessions)
        .where(and(eq(sessions.chatId, chatId), eq(sessions.threadId, threadId)))
        .all();
    },

    /** Remembers an "allow always" answer for the key and ACP tool kind. */
    grantPermission(key: TopicKey, toolKind: string): void {
      db.insert(permissionGrants)
        .values({ ...key, toolKind, createdAt: now().toISOString() })
        .onConflictDoNothing()
        .run();
    },

    /** Whether the key has an "allow always" for the ACP tool kind. */
    hasPermissionGrant(key: TopicKey, toolKind: string): boolean {
      const hit = db
        .select({ toolKind: permissionGrants.toolKind })
        .from(permissionGrants)
        .where(and(ofKey(permissionGrants, key), eq(permissionGrants.toolKind, toolKind)))
        .get();
      return hit !== undefined;
    },

    /** Records that the key just sent a prompt (last_activity_at), creating its row if needed. */
    touch(key: TopicKey): void {
      const at = now().toISOString();
      db.insert(sessions)
        .values({ ...key, lastActivityAt: at, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target, set: { lastActivityAt: at } })
        .run();
    },

    /**
     * Removes the rows of keys idle for more than `ttlDays` (last activity, or last update when
     * there was none), with their journal entries and permission grants. Workspace files stay.
     * Returns the keys removed.
     */
    expireIdle(ttlDays: number): TopicKey[] {
      const cutoff = new Date(now().getTime() - ttlDays * 86_400_000).toISOString();
      const idle = db
        .select({ chatId: sessions.chatId, threadId: sessions.threadId, userId: sessions.userId })
        .from(sessions)
        .where(sql`coalesce(${sessions.lastActivityAt}, ${sessions.updatedAt}) < ${cutoff}`)
        .all();
      database.sqlite.transaction(() => {
        for (const key of idle) {
          db.delete(sessions).where(byKey(key)).run();
          db.delete(turns).where(ofKey(turns, key)).run();
          db.delete(permissionGrants).where(ofKey(permissionGrants, key)).run();
        }
      })();
      return idle;
    },

    /** Closes the underlying database connection. */
    close(): void {
      database.close();
    },
  };
}
