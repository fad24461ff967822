import { and, eq } from "drizzle-orm";
import type { Store } from "../domain/store.js";
import type { TurnRecord } from "../domain/turn.js";
import { type OpenDatabase, openDatabase } from "./database.js";
import { turns } from "./schema.js";
import { createSessionStore } from "./session-store.js";
import { createTurnJournal } from "./turn-journal.js";
import { createUpdateLog } from "./update-log.js";

/** Options of {@link createSqliteStore}. */
export type SqliteStoreOptions = {
  /** How many update ids the dedupe remembers. */
  updateWindow?: number;
  now?: () => Date;
};

/**
 * The {@link Store} on the embedded SQLite file (better-sqlite3 through Drizzle): the `sessions`,
 * `turns`, `seen_updates` and `permission_grants` tables. Every operation runs synchronously in
 * this process and returns a settled promise; update ids are checked in memory and written in
 * batches (see createUpdateLog).
 */
export function createSqliteStore(database: OpenDatabase, options: SqliteStoreOptions = {}): Store {
  const now = options.now ?? (() => new Date());
  const sessions = createSessionStore(database, now);
  const journal = createTurnJournal(database.db, now);
  const updates = createUpdateLog(database, options.updateWindow, now);
  const journalled = (updateId: number) =>
    database.db
      .select({ id: turns.id })
      .from(turns)
      .where(and(eq(turns.updateId, updateId)))
      .get() !== undefined;
  const enqueue = database.sqlite.transaction((turn: Parameters<Store["enqueueTurn"]>[0]) => {
    if (turn.updateId !== undefined && journalled(turn.updateId)) return undefined;
    sessions.touch(turn.key);
    return journal.create(turn.key, turn.prompt, {
      ...(turn.updateId !== undefined ? { updateId: turn.updateId } : {}),
      ...(turn.attachments ? { attachments: turn.attachments } : {}),
      ...(turn.retryOf !== undefined ? { retryOf: turn.retryOf } : {}),
    });
  });
  // better-sqlite3 is synchronous: each method runs to the end, then hands its result (or the
  // database's error) back as a promise.
  const run = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return {
    firstSeen: (updateId) => run(() => updates.firstSeen(updateId)),
    session: (key) => run(() => sessions.get(key)),
    saveSession: (key, sessionId, workspacePath) => run(() => sessions.upsert(key, sessionId, workspacePath)),
    clearSession: (key) => run(() => sessions.clearSession(key)),
    setModel: (key, model) => run(() => sessions.setModel(key, model)),
    model: (key) => run(() => sessions.getModel(key)),
    listSessions: (chatId, userId) => run(() => sessions.list(chatId, userId)),
    expireIdle: (ttlDays) => run(() => sessions.expireIdle(ttlDays)),
    hasPermissionGrant: (key, toolKind) => run(() => sessions.hasPermissionGrant(key, toolKind)),
    grantPermission: (key, toolKind) => run(() => sessions.grantPermission(key, toolKind)),
    enqueueTurn: (turn) => run(() => enqueue(turn)),
    claimTurn: (id) => run(() => journal.start(id)),
    finishTurn: (id, state, end) => run(() => journal.finish(id, state, end)),
    dropTurn: (id, state, error) => run(() => journal.drop(id, state, error)),
    recoverInterrupted: () => run((): TurnRecord[] => journal.recoverInterrupted()),
    markInterruptNotified: (id) => run(() => journal.markInterruptNotified(id)),
    turn: (id) => run((): TurnRecord | undefined => journal.get(id)),
    retryOf: (id) => run((): TurnRecord | undefined => journal.retryOf(id)),
    close: () =>
      run(() => {
        updates.flush();
        sessions.close();
      }),
  };
}

/**
 * Opens the SQLite file at `filePath` (migrating it) and returns its {@link Store}.
 *
 * @throws DatabaseOpenError when the file cannot be created, opened or migrated.
 */
export function openSqliteStore(filePath: string, options?: SqliteStoreOptions): Store {
  return createSqliteStore(openDatabase(filePath), options);
}
