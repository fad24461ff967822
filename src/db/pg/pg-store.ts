import { and, desc, eq, lt, sql } from "drizzle-orm";
import pino from "pino";
import { StoreUnavailableError } from "../../domain/errors.js";
import type { Store } from "../../domain/store.js";
import type { QueuedTurn } from "../../domain/turn-queue.js";
import type { Logger } from "../../logger.js";
import { createStoreHealth } from "../store-health.js";
import { type OpenPgDatabase, openPgDatabase, type PgOpenOptions } from "./database.js";
import { unavailableReason } from "./pg-errors.js";
import { createPgJournal } from "./pg-journal.js";
import { createPgSchedules } from "./pg-schedules.js";
import { createPgSessions, type PgExecutor, type PgTransaction } from "./pg-sessions.js";
import { seenUpdates } from "./schema.js";

export type { PgTransaction };

/** Options of {@link createPgStore}. */
export type PgStoreOptions = {
  /** How many update ids the dedupe keeps (the newest by id); default 10000. */
  updateWindow?: number;
  now?: () => Date;
  /**
   * Runs inside enqueueTurn's transaction once the turn is journalled, e.g. to send its pg-boss
   * job on the same transaction (pg-boss's `db` option), so that the turn and its job commit
   * together or not at all. A throw rolls the whole enqueue back.
   */
  onEnqueued?: (tx: PgTransaction, turn: QueuedTurn) => Promise<void>;
  /**
   * Whether recoverInterrupted() turns every queued or running turn into an interrupted one, as
   * after a crash of the only process (ROLE=all; default true). Processes that share the database
   * with live workers (ROLE=web|worker) must pass false: there the shard's new owner interrupts
   * the turns of a worker that died.
   */
  interruptLeftovers?: boolean;
  logger?: Logger;
  /** While PostgreSQL cannot be reached, how often a `select 1` checks whether it is back, ms. */
  probeIntervalMs?: number;
};

/** How many first-seen update ids are written between two prunes of the window. */
const PRUNE_EVERY = 1000;

/**
 * The {@link Store} on PostgreSQL (Drizzle over node-postgres), with the tables and semantics of
 * the embedded store plus fencing (see TurnFence). Every method is one statement or one
 * transaction; nothing is cached in memory, so any number of processes can share the database.
 * Update ids are recorded with INSERT ... ON CONFLICT DO NOTHING. A call that fails because
 * PostgreSQL cannot be reached (or is out of resources) rejects with StoreUnavailableError and turns
 * the health to not ok until a probe or a later call works.
 */
export function createPgStore(database: OpenPgDatabase, options: PgStoreOptions = {}): Store {
  const { db } = database;
  const now = options.now ?? (() => new Date());
  const window = options.updateWindow ?? 10_000;
  const sessions = createPgSessions(db, now);
  const journal = createPgJournal(db, now);
  const planned = createPgSchedules(db, now);
  let sincePrune = 0;

  const recordUpdate = async (executor: PgExecutor, updateId: number): Promise<boolean> => {
    const rows = await executor
      .insert(seenUpdates)
      .values({ updateId, seenAt: now() })
      .onConflictDoNothing()
      .returning({ updateId: seenUpdates.updateId });
    if (rows.length === 1 && ++sincePrune >= PRUNE_EVERY) {
      sincePrune = 0;
      const oldestKept = db
        .select({ updateId: seenUpdates.updateId })
        .from(seenUpdates)
        .orderBy(desc(seenUpdates.updateId))
        .offset(window - 1)
        .limit(1);
      await db.delete(seenUpdates).where(lt(seenUpdates.updateId, sql`(${oldestKept})`));
    }
    return rows.length === 1;
  };

  const health = createStoreHealth(options.logger ?? pino({ level: "silent" }));
  let probeTimer: NodeJS.Timeout | undefined;
  const startProbing = () => {
    if (probeTimer) return;
    probeTimer = setInterval(() => {
      db.execute(sql`select 1`).then(
        () => {
          health.worked();
          clearInterval(probeTimer);
          probeTimer = undefined;
        },
        () => {},
      );
    }, options.probeIntervalMs ?? 2_000);
    probeTimer.unref();
  };
  /** Every call: a success shows PostgreSQL serves; an unavailable one turns the health off. */
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const result = await fn(...args);
        health.worked();
        return result;
      } catch (err) {
        const reason = unavailableReason(err);
        if (reason === undefined) throw err;
        health.failed(reason);
        startProbing();
        throw new StoreUnavailableError(reason, { cause: err });
      }
    };

  const store: Omit<Store, "health" | "onHealthChange" | "forgetUpdate" | "close"> = {
    firstSeen: (updateId) => recordUpdate(db, updateId),
    session: (key) => sessions.get(key),
    saveSession: (key, sessionId, workspacePath) => sessions.upsert(key, sessionId, workspacePath),
    clearSession: (key) => sessions.clearSession(key),
    setModel: (key, model) => sessions.setModel(key, model),
    setSetting: (key, settingId, value) => sessions.setSetting(key, settingId, value),
    model: (key) => sessions.model(key),
    listSessions: (chatId, userId) => sessions.list(chatId, userId),
    topicSessions: (chatId, threadId) => sessions.topicRows(chatId, threadId),
    expireIdle: (ttlDays) => sessions.expireIdle(ttlDays),
    hasPermissionGrant: (key, toolKind) => sessions.hasPermissionGrant(key, toolKind),
    grantPermission: (key, toolKind) => sessions.grantPermission(key, toolKind),

    // One transaction: the update id (recorded, whoever saw it first), the journal row (one per
    // update id: the unique index decides), the key's activity and whatever onEnqueued adds.
    enqueueTurn: (turn) =>
      db.transaction(async (tx) => {
        if (turn.updateId !== undefined) await recordUpdate(tx, turn.updateId);
        const turnId = await journal.create(tx, turn);
        if (turnId === undefined) return undefined;
        await sessions.touch(tx, turn.key);
        await options.onEnqueued?.(tx, { turnId, key: turn.key });
        return turnId;
      }),
    claimTurn: (id, fence) => journal.start(id, fence),
    finishTurn: (id, state, end, fence) => journal.finish(id, state, end, fence),
    dropTurn: (id, state, error) => journal.drop(id, state, error),
    interruptTurn: (id, error, fence) => journal.interrupt(id, error, fence),
    recoverInterrupted: () => journal.recoverInterrupted(options.interruptLeftovers ?? true),
    markInterruptNotified: (id) => journal.markInterruptNotified(id),
    markDelivery: (id, delivery) => journal.markDelivery(id, delivery),
    recordAgent: (id, agent) => journal.recordAgent(id, agent),
    recordedAgents: () => journal.recordedAgents(),
    cutAnswers: () => journal.cutAnswers(),
    turn: (id) => journal.get(id),
    retryOf: (id) => journal.retryOf(id),
    addSchedule: (schedule, limit) => planned.add(schedule, limit),
    schedules: (key) => planned.list(key),
    schedule: (id) => planned.get(id),
    dueSchedules: (at) => planned.due(at),
    nextScheduleAt: () => planned.next(),
    advanceSchedule: (id, from, to) => planned.advance(id, from, to),
    cancelSchedule: (id) => planned.cancel(id),
    saveMcpToken: (hash, key) => planned.saveToken(hash, key),
    mcpTokenKey: (hash) => planned.tokenKey(hash),
    revokeMcpTokens: (key) => planned.revokeTokens(key),
  };
  const wrapped = Object.fromEntries(
    Object.entries(store).map(([name, fn]) => [
      name,
      guarded(fn as (...args: unknown[]) => Promise<unknown>),
    ]),
  ) as typeof store;
  return {
    ...wrapped,
    health: () => health.current(),
    onHealthChange: (listener) => health.onChange(listener),
    forgetUpdate: (updateId) => {
      void db
        .delete(seenUpdates)
        .where(and(eq(seenUpdates.updateId, updateId)))
        .catch(() => {});
    },
    close: async () => {
      clearInterval(probeTimer);
      await database.close();
    },
  };
}

/**
 * Connects to DATABASE_URL, migrates it (drizzle/pg/) and returns its {@link Store}.
 *
 * @throws DatabaseOpenError (one line naming the host, password redacted) when PostgreSQL cannot
 *   be reached or migrated.
 */
export async function openPgStore(url: string, options: PgStoreOptions & PgOpenOptions = {}): Promise<Store> {
  return createPgStore(await openPgDatabase(url, options), options);
}
