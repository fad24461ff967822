import { and, desc, eq, sql } from "drizzle-orm";
import type { TopicKey } from "../../domain/topic-key.js";
import { AUTO_MODEL, type SessionRecord } from "../../domain/turn.js";
import type { PgDb } from "./database.js";
import { type PgSessionRow, permissionGrants, sessions, turns } from "./schema.js";

/** A transaction on the drizzle handle (what `db.transaction(fn)` hands `fn`). */
export type PgTransaction = Parameters<Parameters<PgDb["transaction"]>[0]>[0];
/** A drizzle handle or a transaction on it: every statement here runs on either. */
export type PgExecutor = PgDb | PgTransaction;

/** Rows of a table keyed by (chat_id, thread_id, user_id) that belong to `key`. */
export function ofKey(table: typeof sessions | typeof turns | typeof permissionGrants, key: TopicKey) {
  return and(eq(table.chatId, key.chatId), eq(table.threadId, key.threadId), eq(table.userId, key.userId));
}

const target = [sessions.chatId, sessions.threadId, sessions.userId];

function sessionRecord(row: PgSessionRow): SessionRecord {
  return {
    chatId: row.chatId,
    threadId: row.threadId,
    userId: row.userId,
    sessionId: row.sessionId,
    workspacePath: row.workspacePath,
    model: row.model,
    settings: row.settings ?? null,
    lastActivityAt: row.lastActivityAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * The `sessions` and `permission_grants` tables on PostgreSQL, with the semantics of the SQLite
 * session store (src/db/session-store.ts): keys are (chat_id, thread_id, user_id), `now` gives
 * the timestamps. Each method is one statement, or one transaction for expireIdle.
 */
export function createPgSessions(db: PgDb, now: () => Date) {
  return {
    /** The key's row, or undefined when the key has none. */
    async get(key: TopicKey): Promise<SessionRecord | undefined> {
      const [row] = await db.select().from(sessions).where(ofKey(sessions, key));
      return row && sessionRecord(row);
    },

    /** Stores the key's ACP session id and workspace; an existing row keeps its model and created_at. */
    async upsert(key: TopicKey, sessionId: string, workspacePath: string): Promise<void> {
      const at = now();
      await db
        .insert(sessions)
        .values({ ...key, sessionId, workspacePath, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target, set: { sessionId, workspacePath, updatedAt: at } });
    },

    /** Stores the key's model choice, creating the row when the key has none yet. */
    async setModel(key: TopicKey, model: string): Promise<void> {
      const at = now();
      await db
        .insert(sessions)
        .values({ ...key, model, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target, set: { model, updatedAt: at } });
    },

    /** Stores one setting choice of the key (undefined forgets it), creating the row when needed. */
    async setSetting(key: TopicKey, settingId: string, value: string | undefined): Promise<void> {
      const at = now();
      const initial = value === undefined ? {} : { [settingId]: value };
      const merged =
        value === undefined
          ? sql`coalesce(${sessions.settings}, '{}'::jsonb) - ${settingId}::text`
          : sql`coalesce(${sessions.settings}, '{}'::jsonb) || ${JSON.stringify(initial)}::jsonb`;
      await db
        .insert(sessions)
        .values({ ...key, settings: initial, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target, set: { settings: merged, updatedAt: at } });
    },

    /** The key's model, or {@link AUTO_MODEL} when the key has no row. */
    async model(key: TopicKey): Promise<string> {
      const [row] = await db.select({ model: sessions.model }).from(sessions).where(ofKey(sessions, key));
      return row?.model ?? AUTO_MODEL;
    },

    /** Forgets the key's ACP session id; workspace and model stay. No-op for a key without a row. */
    async clearSession(key: TopicKey): Promise<void> {
      await db.update(sessions).set({ sessionId: null, updatedAt: now() }).where(ofKey(sessions, key));
    },

    /** The rows of one user in one chat, across topics, most recently updated first. */
    async list(chatId: number, userId: number): Promise<SessionRecord[]> {
      const rows = await db
        .select()
        .from(sessions)
        .where(and(eq(sessions.chatId, chatId), eq(sessions.userId, userId)))
        .orderBy(desc(sessions.updatedAt));
      return rows.map(sessionRecord);
    },

    /** Every user's rows of one forum topic. */
    async topicRows(chatId: number, threadId: number): Promise<SessionRecord[]> {
      const rows = await db
        .select()
        .from(sessions)
        .where(and(eq(sessions.chatId, chatId), eq(sessions.threadId, threadId)));
      return rows.map(sessionRecord);
    },

    /** Remembers an "allow always" answer for the key and ACP tool kind. */
    async grantPermission(key: TopicKey, toolKind: string): Promise<void> {
      await db
        .insert(permissionGrants)
        .values({ ...key, toolKind, createdAt: now() })
        .onConflictDoNothing();
    },

    /** Whether the key has an "allow always" for the ACP tool kind. */
    async hasPermissionGrant(key: TopicKey, toolKind: string): Promise<boolean> {
      const hit = await db
        .select({ toolKind: permissionGrants.toolKind })
        .from(permissionGrants)
        .where(and(ofKey(permissionGrants, key), eq(permissionGrants.toolKind, toolKind)));
      return hit.length > 0;
    },

    /** Records that the key just sent a prompt (last_activity_at), creating its row if needed. */
    async touch(executor: PgExecutor, key: TopicKey): Promise<void> {
      const at = now();
      await executor
        .insert(sessions)
        .values({ ...key, lastActivityAt: at, createdAt: at, updatedAt: at })
        .onConflictDoUpdate({ target, set: { lastActivityAt: at } });
    },

    /**
     * Removes, in one transaction, the rows of keys idle for more than `ttlDays` (last activity, or
     * last update when there was none) with their journal and grants. Returns the keys removed.
     */
    async expireIdle(ttlDays: number): Promise<TopicKey[]> {
      const cutoff = new Date(now().getTime() - ttlDays * 86_400_000);
      return db.transaction(async (tx) => {
        const idle = await tx
          .select({ chatId: sessions.chatId, threadId: sessions.threadId, userId: sessions.userId })
          .from(sessions)
          .where(sql`coalesce(${sessions.lastActivityAt}, ${sessions.updatedAt}) < ${cutoff}`);
        for (const key of idle) {
          await tx.delete(sessions).where(ofKey(sessions, key));
          await tx.delete(turns).where(ofKey(turns, key));
          await tx.delete(permissionGrants).where(ofKey(permissionGrants, key));
        }
        return idle;
      });
    },
  };
}
