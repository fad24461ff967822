import { eq } from "drizzle-orm";
import pino from "pino";
import { StoreUnavailableError } from "../domain/errors.js";
import type { Store } from "../domain/store.js";
import type { TurnRecord } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import { type OpenDatabase, openDatabase } from "./database.js";
import { createScheduleTable } from "./schedule-table.js";
import { turns } from "./schema.js";
import { createSessionStore } from "./session-store.js";
import { unwritableReason } from "./sqlite-errors.js";
import { createStoreHealth } from "./store-health.js";
import { createTurnJournal } from "./turn-journal.js";
import { createUpdateLog } from "./update-log.js";

/** Options of {@link createSqliteStore}. */
export type SqliteStoreOptions = {
  /** How many update ids the dedupe remembers. */
  updateWindow?: number;
  now?: () => Date;
  logger?: Logger;
  /** While writes fail, how often the store tries a small write to learn that they work again, ms. */
  probeIntervalMs?: number;
};

const PROBE_INTERVAL_MS = 2_000;

/**
 * The {@link Store} on the embedded SQLite file (better-sqlite3 through Drizzle): the `sessions`,
 * `turns`, `seen_updates`, `permission_grants`, `schedules` and `mcp_tokens` tables. Every operation runs synchronously in
 * this process and returns a settled promise; update ids are checked in memory and written in
 * batches (see createUpdateLog). A write that fails with SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY
 * or SQLITE_CANTOPEN rejects with StoreUnavailableError (it never throws out of a timer), turns the
 * health to not ok, and from then on a small write is tried every `probeIntervalMs` until one works.
 */
export function createSqliteStore(database: OpenDatabase, options: SqliteStoreOptions = {}): Store {
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? pino({ level: "silent" });
  const health = createStoreHealth(logger);
  let probeTimer: NodeJS.Timeout | undefined;

  /** Classifies a failure: a write that cannot be done now, or something else. */
  const failure = (err: unknown): unknown => {
    const reason = unwritableReason(err, database.path);
    if (reason === undefined) return err;
    health.failed(reason);
    startProbing();
    return new StoreUnavailableError(reason, { cause: err });
  };

  const sessions = createSessionStore(database, now);
  const journal = createTurnJournal(database.db, now);
  const planned = createScheduleTable(database, now);
  const updates = createUpdateLog(database, options.updateWindow, now, (err) => void failure(err));
  const probeWrite = database.sqlite.prepare(
    "INSERT OR REPLACE INTO seen_updates (update_id, seen_at) VALUES (-1, ?)",
  );
  const probeClean = database.sqlite.prepare("DELETE FROM seen_updates WHERE update_id = -1");

  function startProbing(): void {
    if (probeTimer) return;
    probeTimer = setInterval(() => {
      try {
        database.sqlite.transaction(() => {
          probeWrite.run(now().toISOString());
          probeClean.run();
        })();
        updates.flush();
        health.worked();
        clearInterval(probeTimer);
        probeTimer = undefined;
      } catch (err) {
        failure(err);
      }
    }, options.probeIntervalMs ?? PROBE_INTERVAL_MS);
    probeTimer.unref();
  }

  const journalled = (updateId: number) =>
    database.db.select({ id: turns.id }).from(turns).where(eq(turns.updateId, updateId)).get() !== undefined;
  const enqueue = database.sqlite.transaction((turn: Parameters<Store["enqueueTurn"]>[0]) => {
    if (turn.updateId !== undefined && journalled(turn.updateId)) return undefined;
    sessions.touch(turn.key);
    return journal.create(turn.key, turn.prompt, {
      ...(turn.updateId !== undefined ? { updateId: turn.updateId } : {}),
      ...(turn.attachments ? { attachments: turn.attachments } : {}),
      ...(turn.files ? { files: turn.files } : {}),
      ...(turn.retryOf !== undefined ? { retryOf: turn.retryOf } : {}),
    });
  });
  // better-sqlite3 is synchronous: each method runs to the end, then hands its result (or the
  // database's error) back as a promise. A write that works shows that the disk is fine again.
  const read = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(failure(err));
    }
  };
  const write = <T>(fn: () => T): Promise<T> => {
    try {
      const result = fn();
      health.worked();
      return Promise.resolve(result);
    } catch (err) {
      return Promise.reject(failure(err));
    }
  };
  return {
    health: () => health.current(),
    onHealthChange: (listener) => health.onChange(listener),
    firstSeen: (updateId) => read(() => updates.firstSeen(updateId)),
    forgetUpdate: (updateId) => updates.forget(updateId),
    session: (key) => read(() => sessions.get(key)),
    saveSession: (key, sessionId, workspacePath) =>
      write(() => sessions.upsert(key, sessionId, workspacePath)),
    clearSession: (key) => write(() => sessions.clearSession(key)),
    setModel: (key, model) => write(() => sessions.setModel(key, model)),
    setSetting: (key, settingId, value) => write(() => sessions.setSetting(key, settingId, value)),
    model: (key) => read(() => sessions.getModel(key)),
    listSessions: (chatId, userId) => read(() => sessions.list(chatId, userId)),
    topicSessions: (chatId, threadId) => read(() => sessions.topicRows(chatId, threadId)),
    expireIdle: (ttlDays) => write(() => sessions.expireIdle(ttlDays)),
    hasPermissionGrant: (key, toolKind) => read(() => sessions.hasPermissionGrant(key, toolKind)),
    grantPermission: (key, toolKind) => write(() => sessions.grantPermission(key, toolKind)),
    enqueueTurn: (turn) => write(() => enqueue(turn)),
    claimTurn: (id) => write(() => journal.start(id)),
    finishTurn: (id, state, end) => write(() => journal.finish(id, state, end)),
    interruptTurn: (id, error) => write(() => journal.interrupt(id, error)),
    dropTurn: (id, state, error) => write(() => journal.drop(id, state, error)),
    recoverInterrupted: () => write((): TurnRecord[] => journal.recoverInterrupted()),
    markInterruptNotified: (id) => write(() => journal.markInterruptNotified(id)),
    markDelivery: (id, delivery) => write(() => journal.markDelivery(id, delivery)),
    recordAgent: (id, agent) => write(() => journal.recordAgent(id, agent)),
    recordedAgents: () => read(() => journal.recordedAgents()),
    cutAnswers: () => read((): TurnRecord[] => journal.cutAnswers()),
    turn: (id) => read((): TurnRecord | undefined => journal.get(id)),
    retryOf: (id) => read((): TurnRecord | undefined => journal.retryOf(id)),
    addSchedule: (schedule, limit) => write(() => planned.add(schedule, limit)),
    schedules: (key) => read(() => planned.list(key)),
    schedule: (id) => read(() => planned.get(id)),
    dueSchedules: (at) => read(() => planned.due(at)),
    nextScheduleAt: () => read(() => planned.next()),
    advanceSchedule: (id, from, to) => write(() => planned.advance(id, from, to)),
    cancelSchedule: (id) => write(() => planned.cancel(id)),
    saveMcpToken: (hash, key) => write(() => planned.saveToken(hash, key)),
    mcpTokenKey: (hash) => read(() => planned.tokenKey(hash)),
    revokeMcpTokens: (key) => write(() => planned.revokeTokens(key)),
    close: () =>
      read(() => {
        clearInterval(probeTimer);
        try {
          updates.flush();
        } finally {
          sessions.close();
        }
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
