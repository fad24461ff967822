import { randomBytes } from "node:crypto";
import pg from "pg";
import type { PgBoss } from "pg-boss";
import { type ControlBus, type ControlServer, openControlBus } from "./cluster/control-bus.js";
import { openPgBossTurnQueue, type PgBossTurnQueue } from "./cluster/pgboss-turn-queue.js";
import { startTurnBoss } from "./cluster/turn-boss.js";
import type { Config } from "./config.js";
import { type OpenPgDatabase, openPgDatabase, redactDatabaseUrl } from "./db/pg/database.js";
import { createPgStore } from "./db/pg/pg-store.js";
import type { Store } from "./domain/store.js";
import type { Logger } from "./logger.js";
import { StartupError } from "./operator-error.js";

/** pg_advisory_lock key that the one process polling getUpdates holds (BOT_MODE=polling). */
export const POLLING_LOCK = 7_410_386_052;

/** What ROLE=web and ROLE=worker run on: the database, its store, the pg-boss turn queue, the control bus. */
export type ClusterParts = {
  database: OpenPgDatabase;
  store: Store;
  queue: PgBossTurnQueue;
  bus: ControlBus;
  /** Stops the queue (a worker's turns get `graceMs`), the bus and pg-boss, then closes the store. */
  close(graceMs: number): Promise<void>;
};

/**
 * Opens the Postgres mode of one process of a ROLE: migrates DATABASE_URL, starts pg-boss with the
 * shard queues, opens the turn queue (a worker takes shard leases as WORKER_ID; a web replica only
 * sends), the store (enqueueTurn sends the turn's job in its transaction; leftovers are not
 * interrupted at start, the shards' new owners do that) and the control bus (`serve` answers
 * requests on a worker).
 *
 * @throws DatabaseOpenError (one line naming DATABASE_URL's host) when PostgreSQL cannot be reached.
 */
export async function openCluster(
  config: Config,
  options: { serve?: ControlServer; logger: Logger },
): Promise<ClusterParts> {
  const { logger } = options;
  const url = config.databaseUrl as string;
  const { role, workerId, shards, leaseTtlMs, balance } = config.cluster;
  const database = await openPgDatabase(url, {
    applicationName: `tg-acp ${role} ${workerId}`,
    onPoolError: (err) => logger.warn({ err }, "a PostgreSQL connection was lost"),
  });
  let boss: PgBoss | undefined;
  try {
    boss = await startTurnBoss({
      url,
      shards,
      expireInSeconds: Math.ceil(config.turns.timeoutMs / 1000) + 600,
      logger,
    });
    const queue = await openPgBossTurnQueue({
      database,
      boss,
      shards,
      concurrency: config.turns.maxConcurrent,
      ...(role === "worker" ? { worker: { workerId, leaseTtlMs, balance } } : {}),
      logger,
    });
    const store = createPgStore(database, {
      interruptLeftovers: false,
      onEnqueued: (tx, turn) => queue.sendWithin(tx, turn),
      logger,
    });
    const bus = await openControlBus({
      database,
      processId: `${role}:${workerId}:${randomBytes(4).toString("hex")}`,
      ...(options.serve ? { serve: options.serve } : {}),
      logger,
    });
    const started = boss;
    return {
      database,
      store,
      queue,
      bus,
      async close(graceMs) {
        await queue.stop(graceMs);
        await bus.close();
        await started.stop({ graceful: false, close: true });
        await store.close();
      },
    };
  } catch (err) {
    await boss?.stop({ graceful: false, close: true }).catch(() => {});
    await database.close().catch(() => {});
    throw new StartupError(
      `DATABASE_URL ${redactDatabaseUrl(url)}: the turn queue cannot start: ${(err as Error).message.split("\n")[0]}`,
    );
  }
}

/**
 * BOT_MODE=polling on a shared database: takes the advisory lock {@link POLLING_LOCK} on a
 * connection of its own, held until `release` (or the connection ends), so only one process polls
 * getUpdates (Telegram would answer the second 409).
 *
 * @throws StartupError when another process holds it.
 */
export async function holdPollingLock(url: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: "tg-acp polling lock" });
  client.on("error", () => {});
  await client.connect();
  const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [
    POLLING_LOCK,
  ]);
  if (!rows[0]?.locked) {
    await client.end().catch(() => {});
    throw new StartupError(
      "BOT_MODE=polling: another process already polls Telegram for this database (it holds the PostgreSQL advisory lock); run one poller, or use BOT_MODE=webhook",
    );
  }
  return { release: () => client.end().catch(() => {}) };
}
