import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openPgBossTurnQueue, type PgBossTurnQueue } from "../../src/cluster/pgboss-turn-queue.js";
import { startTurnBoss } from "../../src/cluster/turn-boss.js";
import { type OpenPgDatabase, openPgDatabase } from "../../src/db/pg/database.js";
import { createPgStore } from "../../src/db/pg/pg-store.js";
import type { Store } from "../../src/domain/store.js";
import type { TopicKey } from "../../src/domain/topic-key.js";
import { startPostgres, type ThrowAwayPostgres } from "../support/postgres.js";

// The Postgres mode across processes: this test process sends turns as a web replica would
// (PgStore.enqueueTurn with the pg-boss job in the same transaction), three worker processes run
// them (test/scale/scale-worker.ts: shard leases, key_strict_fifo queues, a stand-in agent of
// SCALE_TURN_MS per turn); one worker is killed with -9 mid-turn and another is SIGTERMed later.
// Then the database must show: one journal row per update id, no two turns of a topic at once,
// each topic's turns in order, every turn ended, nothing left in pg-boss.

const SHARDS = 64;
const SLOTS = 4;
const TURN_MS = Number(process.env.SCALE_TURN_MS ?? 1000);
const LEASE_TTL_MS = Number(process.env.SCALE_LEASE_TTL_MS ?? 20_000);
const TOPICS = 48;
const logger = pino({ level: "silent" });

type WorkerEvent = { event: string; workerId: string; at: number; turnId?: number; held?: number[] };
type Worker = { id: string; child: ChildProcess; events: WorkerEvent[] };

let server: ThrowAwayPostgres;
let url: string;
let database: OpenPgDatabase;
let web: PgBossTurnQueue;
let store: Store;
let stopBoss: () => Promise<void>;
const workers: Worker[] = [];

function startWorker(id: string): Worker {
  const bundle = path.join(process.env.TG_ACP_SCALE_BUNDLES ?? "", "scale-worker.mjs");
  const child = spawn(process.execPath, [bundle], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      WORKER_ID: id,
      SHARDS: String(SHARDS),
      MAX_CONCURRENT_TURNS: String(SLOTS),
      SCALE_TURN_MS: String(TURN_MS),
      LEASE_TTL_MS: String(LEASE_TTL_MS),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const worker: Worker = { id, child, events: [] };
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) worker.events.push(JSON.parse(line) as WorkerEvent);
  });
  workers.push(worker);
  return worker;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const rows = async <T>(query: ReturnType<typeof sql>) => (await database.db.execute(query)).rows as T[];
const countUnended = async () =>
  Number(
    (
      await rows<{ n: number }>(sql`select count(*)::int as n from turns where state in ('queued','running')`)
    )[0]?.n,
  );

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase("scale");
  database = await openPgDatabase(url, { poolSize: 8 });
  const boss = await startTurnBoss({ url, shards: SHARDS, expireInSeconds: 3600, logger });
  stopBoss = () => boss.stop({ graceful: false, close: true });
  web = await openPgBossTurnQueue({ database, boss, shards: SHARDS, concurrency: SLOTS, logger });
  store = createPgStore(database, {
    interruptLeftovers: false,
    onEnqueued: (tx, turn) => web.sendWithin(tx, turn),
  });
  for (const id of ["w1", "w2", "w3"]) startWorker(id);
  const leased = async () =>
    Number(
      (
        await rows<{ n: number }>(
          sql`select count(distinct worker_id)::int as n from shard_lease where lease_until > now()`,
        )
      )[0]?.n,
    ) === 3;
  await until("three workers to share the shards", leased);
});

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill("SIGKILL");
  await web?.stop(0);
  await stopBoss?.();
  await database?.close();
  await server?.stop();
});

let nextUpdateId = 1000;
/**
 * Sends prompts as Updates, `count(topic index)` to each topic: one after another within a topic
 * (as a chat's Updates arrive), topics at once; 5% of the Updates are sent twice. Returns the ids.
 */
async function sendTurns(topics: TopicKey[], count: (n: number) => number): Promise<number[]> {
  const updateIds: number[] = [];
  await Promise.all(
    topics.map(async (key, n) => {
      for (let round = 0; round < count(n); round++) {
        const updateId = nextUpdateId++;
        updateIds.push(updateId);
        await store.enqueueTurn({ key, prompt: `turn ${round}`, updateId });
        if (updateId % 20 === 0) await store.enqueueTurn({ key, prompt: `turn ${round}`, updateId });
      }
    }),
  );
  return updateIds;
}

const topic = (n: number): TopicKey => ({ chatId: -1_000_000_000_000 - n, threadId: n, userId: 7 });

it("runs turns on three workers, survives kill -9 and SIGTERM, and leaves nothing doubled, overlapping or blocked", async () => {
  const topics = Array.from({ length: TOPICS }, (_, n) => topic(n));
  // Phase 0: on an idle system, enqueue (the web's commit) -> the turn starting on its worker.
  const startedAt = (turnId: number) =>
    workers.flatMap((w) => w.events).find((e) => e.event === "start" && e.turnId === turnId)?.at;
  const latencies: number[] = [];
  for (let n = 0; n < 20; n++) {
    const turnId = (await store.enqueueTurn({ key: topic(1000 + n), prompt: "idle" })) as number;
    const committed = Date.now();
    await until("an idle turn to start", () => startedAt(turnId) !== undefined);
    latencies.push((startedAt(turnId) as number) - committed);
  }
  latencies.sort((a, b) => a - b);
  console.log(
    `scale: enqueue commit -> turn start on an idle system: p50 ${latencies[9]} ms, p95 ${latencies[18]} ms (n=20)`,
  );
  await until("the idle turns to end", async () => (await countUnended()) === 0);
  // Phase 1: throughput, no faults.
  const perTopic = 3;
  const t0 = Date.now();
  const sent = await sendTurns(topics, () => perTopic);
  await until("the first batch to end", async () => (await countUnended()) === 0);
  const seconds = (Date.now() - t0) / 1000;
  const total = topics.length * perTopic;
  const ideal = Math.min((3 * SLOTS * 1000) / TURN_MS, (topics.length * 1000) / TURN_MS);
  const rate = total / seconds;
  console.log(
    `scale: ${total} turns of ${TURN_MS} ms on 3 workers x ${SLOTS} slots in ${seconds.toFixed(1)} s: ${rate.toFixed(2)} turns/s, ideal ${ideal.toFixed(2)} (${Math.round((rate / ideal) * 100)}%)`,
  );
  // Topics stick to their shard's worker: the busiest worker bounds the batch.
  const perWorker = await rows<{ worker_id: string; n: number }>(
    sql`select worker_id, count(*)::int as n from turns where update_id = any(${`{${sent.join(",")}}`}::bigint[]) group by worker_id`,
  );
  const busiest = Math.max(...perWorker.map((w) => w.n));
  const stickyIdeal = total / ((Math.ceil(busiest / SLOTS) * TURN_MS) / 1000);
  console.log(
    `scale: turns per worker ${perWorker.map((w) => `${w.worker_id} ${w.n}`).join(", ")}: ideal for this spread ${stickyIdeal.toFixed(2)} turns/s (${Math.round((rate / stickyIdeal) * 100)}%)`,
  );

  // Phase 2: faults. A burst on one topic, more turns everywhere; kill -9 a worker mid-turn.
  sent.push(...(await sendTurns(topics, (n) => (n === 0 ? 13 : 3))));
  const victim = workers[0] as Worker;
  await until(
    "a turn running on w1",
    () =>
      victim.events.filter((e) => e.event === "start").length >
      victim.events.filter((e) => e.event === "end").length,
  );
  const killedAt = Date.now();
  victim.child.kill("SIGKILL");
  const orphanSeen = () =>
    workers.slice(1).some((w) => w.events.some((e) => e.event === "orphan" && e.at > killedAt));
  await until("the dead worker's turn to be taken over", orphanSeen, LEASE_TTL_MS * 4);
  const failoverS =
    (Math.min(
      ...workers.slice(1).flatMap((w) => w.events.filter((e) => e.event === "orphan").map((e) => e.at)),
    ) -
      killedAt) /
    1000;
  console.log(
    `scale: kill -9 of w1 -> its turn interrupted by the new owner after ${failoverS.toFixed(1)} s (lease ttl ${LEASE_TTL_MS / 1000} s)`,
  );
  const graceful = workers[1] as Worker;
  graceful.child.kill("SIGTERM");
  await until("w2 to stop", () => graceful.events.some((e) => e.event === "stopped"));
  await until("every turn to end", async () => (await countUnended()) === 0, LEASE_TTL_MS * 6);

  // One journal row per update id, none missing.
  const perUpdate = await rows<{ update_id: number; n: number }>(
    sql`select update_id, count(*)::int as n from turns where update_id is not null group by update_id`,
  );
  expect(perUpdate.filter((r) => r.n !== 1)).toEqual([]);
  expect(perUpdate.map((r) => Number(r.update_id)).sort()).toEqual([...new Set(sent)].sort());
  // Every turn ended; per topic: in order, never two at once.
  const turns = await rows<{
    id: number;
    chat_id: number;
    state: string;
    started_at: Date | null;
    finished_at: Date | null;
  }>(sql`select id, chat_id, state, started_at, finished_at from turns order by chat_id, id`);
  expect(turns.filter((t) => !["completed", "interrupted"].includes(t.state))).toEqual([]);
  const byTopic = new Map<number, typeof turns>();
  for (const t of turns) byTopic.set(t.chat_id, [...(byTopic.get(t.chat_id) ?? []), t]);
  const problems: string[] = [];
  for (const [chat, list] of byTopic) {
    const ran = list.filter((t) => t.started_at !== null);
    for (let i = 1; i < ran.length; i++) {
      const before = ran[i - 1] as (typeof ran)[number];
      const after = ran[i] as (typeof ran)[number];
      if ((after.started_at as Date) < (before.started_at as Date))
        problems.push(`${chat}: turn ${after.id} started before ${before.id}`);
      if ((after.started_at as Date) < (before.finished_at as Date))
        problems.push(`${chat}: turn ${after.id} overlapped ${before.id}`);
    }
  }
  expect(problems).toEqual([]);
  const interrupted = turns.filter((t) => t.state === "interrupted").length;
  expect(interrupted).toBeGreaterThan(0);
  // Nothing left waiting, running, retrying or failed in pg-boss.
  const left = await rows<{ state: string; n: number }>(
    sql`select state, count(*)::int as n from pgboss.job where name like 'tg-acp.turns.%' and state in ('created','retry','active','failed') group by state`,
  );
  expect(left).toEqual([]);
  console.log(
    `scale: ${turns.length} turns, ${interrupted} interrupted by the faults, 0 doubled, 0 overlapping, 0 left in pg-boss`,
  );
});
