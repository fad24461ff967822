// One worker process of the scale test: PgStore + the pg-boss TurnQueue with shard leases, and a
// stand-in for the agent that "runs" each turn for SCALE_TURN_MS (or until the turn's signal
// aborts). Writes one JSON line per event on stdout: ready (with its shards), start, end, stopped.
import pino from "pino";
import { openPgBossTurnQueue } from "../../src/cluster/pgboss-turn-queue.js";
import { startTurnBoss } from "../../src/cluster/turn-boss.js";
import { openPgDatabase } from "../../src/db/pg/database.js";
import { createPgStore } from "../../src/db/pg/pg-store.js";

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const url = env("DATABASE_URL");
const workerId = env("WORKER_ID");
const shards = Number(env("SHARDS", "64"));
const turnMs = Number(env("SCALE_TURN_MS", "1000"));
const say = (event: string, detail: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, workerId, at: Date.now(), ...detail })}\n`);

const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
const database = await openPgDatabase(url, { poolSize: 6, applicationName: `tg-acp ${workerId}` });
const store = createPgStore(database, { interruptLeftovers: false });
const boss = await startTurnBoss({ url, shards, expireInSeconds: 3600, logger });
const queue = await openPgBossTurnQueue({
  database,
  boss,
  shards,
  concurrency: Number(env("MAX_CONCURRENT_TURNS", "4")),
  worker: { workerId, leaseTtlMs: Number(env("LEASE_TTL_MS", "20000")) },
  logger,
});

queue.start(
  async (turn) => {
    if (!(await store.claimTurn(turn.turnId, turn.fence))) return;
    say("start", { turnId: turn.turnId });
    const stopped = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), turnMs);
      turn.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const end = stopped
      ? { error: "the worker stopped during this turn" }
      : { answer: `done ${turn.turnId}` };
    const written = await store.finishTurn(
      turn.turnId,
      stopped ? "interrupted" : "completed",
      end,
      turn.fence,
    );
    say("end", { turnId: turn.turnId, stopped, written });
  },
  {
    onOrphan: async (turn) => {
      const written = await store.interruptTurn(turn.turnId, "its worker died during this turn", turn.fence);
      say("orphan", { turnId: turn.turnId, written });
    },
  },
);
say("ready", { held: queue.heldShards() });

process.once("SIGTERM", () => {
  say("stopping", { held: queue.heldShards() });
  void (async () => {
    await queue.stop(Number(env("SHUTDOWN_GRACE_MS", "20000")));
    await boss.stop({ graceful: false, close: true });
    await store.close();
    say("stopped");
    process.exit(0);
  })();
});
