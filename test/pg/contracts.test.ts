import pino from "pino";
import { afterEach } from "vitest";
import { openPgBossTurnQueue, type PgBossTurnQueue } from "../../src/cluster/pgboss-turn-queue.js";
import { startTurnBoss } from "../../src/cluster/turn-boss.js";
import { openPgDatabase } from "../../src/db/pg/database.js";
import { openPgStore } from "../../src/db/pg/pg-store.js";
import type { Store } from "../../src/domain/store.js";
import { storeContract } from "../contracts/store-contract.js";
import { turnQueueContract } from "../contracts/turn-queue-contract.js";
import { usePostgres } from "../support/use-postgres.js";

const pg = usePostgres();
const logger = pino({ level: "silent" });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

pg.describe("PostgreSQL", () => {
  storeContract("PostgreSQL", async () => {
    const url = await pg.server().createDatabase();
    const clock = { now: new Date("2026-01-01T00:00:00.000Z") };
    const open = () => openPgStore(url, { now: () => clock.now, poolSize: 2 });
    let store: Store = await open();
    return {
      get store() {
        return store;
      },
      clock,
      async reopen() {
        await store.close();
        store = await open();
        return store;
      },
      async cleanup() {
        await store.close().catch(() => {});
      },
    };
  });

  turnQueueContract("pg-boss, one worker", async (concurrency): Promise<PgBossTurnQueue> => {
    const url = await pg.server().createDatabase();
    const database = await openPgDatabase(url, { poolSize: 4 });
    cleanups.push(() => database.close());
    const boss = await startTurnBoss({ url, shards: 8, expireInSeconds: 3600, logger });
    cleanups.push(() => boss.stop({ graceful: false, close: true }));
    const queue = await openPgBossTurnQueue({
      database,
      boss,
      shards: 8,
      concurrency,
      worker: { workerId: "contract", leaseTtlMs: 20_000 },
      logger,
    });
    cleanups.push(() => queue.stop(0));
    return queue;
  });
});
