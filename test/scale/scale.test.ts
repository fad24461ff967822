import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TEST_BOT_TOKEN, TEST_WEBHOOK_SECRET } from "../support/app-fixture.js";
import { type MockBotApi, startMockBotApi } from "../support/mock-bot-api.js";
import { startPostgres, type ThrowAwayPostgres } from "../support/postgres.js";
import { makeTempDir } from "../support/temp-dir.js";
import { type AgentEvent, readAgentEvents } from "../support/test-agent-command.js";
import { FIXTURE_USER_ID, topicTextUpdate } from "../support/updates.js";

// The Postgres mode across processes, as it runs in production: 2 web replicas (ROLE=web) and 3
// workers (ROLE=worker, 4 slots each, separate workspace roots) of the real app on one throw-away
// PostgreSQL and the mock Bot API, with the test ACP agent answering "slow <ms> <tag>" prompts
// (test/scale/scale-bot.ts). Updates are POSTed round-robin to both webs, 5% of them twice, with a
// burst on one topic; one worker is killed with -9 mid-turn and another is SIGTERMed later. Then
// the database and the agents' logs must show: one journal row per update id, no two turns of a
// topic at once, each topic's turns in update order, every turn ended (completed, or interrupted
// with its topic told), nothing left in pg-boss. The same workload runs on one ROLE=all process on
// the embedded SQLite file (12 slots) for the figures beside it.

const TURN_MS = Number(process.env.SCALE_TURN_MS ?? 2000);
const LEASE_TTL_MS = Number(process.env.SCALE_LEASE_TTL_MS ?? 20_000);
const SLOTS = 4;
const WORKERS = 3;
/** Topics of the throughput batch (one turn each) and of the fault phase (two turns each). */
const TOPICS = 144;
const FAULT_TOPICS = 72;
const PER_TOPIC = 2;
const IDEAL = (WORKERS * SLOTS * 1000) / TURN_MS;

type Proc = { name: string; child: ChildProcess; port: number; agentDir: string; events: () => AgentEvent[] };

let postgres: ThrowAwayPostgres;
let api: MockBotApi;
let url: string;
const temp = makeTempDir();
const procs: Proc[] = [];
const figures: string[] = [];

async function startProc(name: string, env: Record<string, string>): Promise<Proc> {
  const agentDir = path.join(temp.dir, name, "agent");
  const child = spawn(
    process.execPath,
    [path.join(process.env.TG_ACP_SCALE_BUNDLES ?? "", "scale-bot.mjs")],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        TELEGRAM_API_ROOT: api.url,
        HOST: "127.0.0.1",
        PORT: "0",
        ALLOWED_USER_IDS: String(FIXTURE_USER_ID),
        ACP_AGENT_COMMAND: process.execPath,
        WORKSPACE_BASE_PATH: path.join(temp.dir, name, "workspaces"),
        DATABASE_PATH: path.join(temp.dir, name, "tg-acp.db"),
        SCALE_AGENT_DIR: agentDir,
        LOG_LEVEL: "warn",
        INPUT_DEBOUNCE_MS: "0",
        AGENT_WARM_SPARES: "0",
        AGENT_STOP_GRACE_MS: "500",
        ACP_REPLAY_QUIET_MS: "50",
        STREAM_FIRST_SEND_MS: "0",
        STREAM_EDIT_INTERVAL_MS: "200",
        CHAT_MIN_INTERVAL_MS: "0",
        GROUP_CHAT_MESSAGES_PER_MINUTE: "600",
        LEASE_TTL_MS: String(LEASE_TTL_MS),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  let stdout = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const ready = stdout.split("\n").find((line) => line.includes('"ready"'));
      if (ready) resolve((JSON.parse(ready) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`${name} did not start: ${stderr}`)), 60_000).unref();
  });
  const proc = { name, child, port, agentDir, events: () => readAgentEvents(agentDir) };
  Object.assign(proc, { output: () => stdout });
  procs.push(proc);
  return proc;
}

const stdoutOf = (proc: Proc) => (proc as Proc & { output: () => string }).output();

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let db: pg.Pool;
const rows = async <T>(text: string): Promise<T[]> => (await db.query(text)).rows as T[];
const countUnended = async () =>
  Number(
    (await rows<{ n: number }>("select count(*)::int as n from turns where state in ('queued','running')"))[0]
      ?.n,
  );

let nextUpdateId = 10_000;
/** A topic of its own chat (so one chat's Bot API pacing does not bound the run). */
const topicUpdate = (n: number, ms: number, updateId: number) => {
  const update = topicTextUpdate(`slow ${ms} t${n}-u${updateId}`, {
    threadId: n + 1,
    chatId: -1_001_000_000_000 - n,
  });
  update.update_id = updateId;
  return update;
};

async function post(port: number, update: unknown): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET },
    body: JSON.stringify(update),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Sends `count(n)` prompts to each topic, one after another within a topic (as a chat's Updates
 * arrive), topics at once, round-robin over `ports`; every 20th Update is sent again to the next
 * port (Telegram re-sending one it did not see acknowledged). Returns the update ids acknowledged.
 */
async function sendTurns(
  ports: number[],
  topics: number[],
  count: (n: number) => number,
  ms: (n: number) => number = () => TURN_MS,
): Promise<number[]> {
  const sent: number[] = [];
  let robin = 0;
  await Promise.all(
    topics.map(async (n) => {
      for (let round = 0; round < count(n); round++) {
        const updateId = nextUpdateId++;
        const update = topicUpdate(n, ms(n), updateId);
        const port = ports[robin++ % ports.length] as number;
        expect(await post(port, update)).toBe(200);
        sent.push(updateId);
        if (updateId % 20 === 0) expect(await post(ports[robin % ports.length] as number, update)).toBe(200);
      }
    }),
  );
  return sent;
}

const starts = (events: AgentEvent[]) => events.filter((e) => e.event === "prompt-start");
const tagOf = (e: AgentEvent) => String(e.text).split(" ")[2] ?? "";
const topicOfTag = (tag: string) => Number(/^t(\d+)-/.exec(tag)?.[1]);
const updateOfTag = (tag: string) => Number(/-u(\d+)$/.exec(tag)?.[1]);

/**
 * Idle latency: POST answered 200 -> the agent's prompt-start, 20 sequential turns of new topics,
 * after 6 unmeasured ones (each process's first turns run cold code).
 */
async function idleLatency(ports: number[], procsOf: () => Proc[], first: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = -6; i < 20; i++) {
    const updateId = nextUpdateId++;
    const port = ports[(i + 6) % ports.length] as number;
    expect(await post(port, topicUpdate(first + 6 + i, 10, updateId))).toBe(200);
    const answered = Date.now();
    let started: AgentEvent | undefined;
    await until("an idle turn to start", () => {
      started = procsOf()
        .flatMap((p) => starts(p.events()))
        .find((e) => updateOfTag(tagOf(e)) === updateId);
      return started !== undefined;
    });
    if (i >= 0) latencies.push((started?.at ?? answered) - answered);
  }
  return latencies.sort((a, b) => a - b);
}

/** Turns/s of one batch: a turn in each of TOPICS topics, from the first POST to the last turn's end. */
async function throughput(ports: number[], topicBase: number): Promise<{ rate: number; sent: number[] }> {
  const topics = Array.from({ length: TOPICS }, (_, n) => topicBase + n);
  const t0 = Date.now();
  const sent = await sendTurns(ports, topics, () => 1);
  await until("the batch to end", async () => (await countUnended()) === 0);
  const [last] = await rows<{ at: Date }>("select max(finished_at) as at from turns");
  const lastEnd = last ? last.at.getTime() : Date.now();
  return { rate: sent.length / ((lastEnd - t0) / 1000), sent };
}

/**
 * The prompts an agent log shows, each with its start and end (its session's next prompt-end; a
 * prompt still open when its worker was killed ends at `cut`).
 */
function prompts(proc: Proc, cut: number) {
  const open = new Map<unknown, { tag: string; start: number; end: number }>();
  const out: Array<{ tag: string; start: number; end: number }> = [];
  for (const e of proc.events()) {
    if (e.event === "prompt-start") {
      const p = { tag: tagOf(e), start: e.at, end: cut };
      open.set(e.sessionId, p);
      out.push(p);
    } else if (e.event === "prompt-end") {
      const p = open.get(e.sessionId);
      if (p) p.end = e.at;
      open.delete(e.sessionId);
    }
  }
  return out;
}

const p95 = (sorted: number[]) => sorted[Math.ceil(sorted.length * 0.95) - 1] ?? Number.NaN;

beforeAll(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase("scale");
  db = new pg.Pool({ connectionString: url, max: 2 });
  api = await startMockBotApi();
});

afterAll(async () => {
  for (const proc of procs) if (proc.child.exitCode === null) proc.child.kill("SIGKILL");
  await db?.end();
  await api?.close();
  await postgres?.stop();
  temp.cleanup();
  if (figures.length > 0) console.log(`\n${figures.join("\n")}\n`);
});

it("2 web replicas and 3 workers: kill -9 and SIGTERM leave nothing doubled, overlapping, out of order, lost or blocked", async () => {
  const cluster = { DATABASE_URL: url, SHARDS: "64", MAX_CONCURRENT_TURNS: String(SLOTS) };
  const workers: Proc[] = [];
  for (let w = 1; w <= WORKERS; w++) {
    workers.push(await startProc(`w${w}`, { ...cluster, ROLE: "worker", WORKER_ID: `w${w}` }));
  }
  const webs = [
    await startProc("web1", { ...cluster, ROLE: "web", WORKER_ID: "web1" }),
    await startProc("web2", { ...cluster, ROLE: "web", WORKER_ID: "web2" }),
  ];
  const ports = webs.map((w) => w.port);
  // Each worker at its fair share (the first one took every shard, then gave the others theirs).
  await until("three workers to share the shards fairly", async () => {
    const held = await rows<{ n: number }>(
      "select count(*)::int as n from shard_lease where lease_until > now() group by worker_id",
    );
    const fair = Math.ceil(64 / WORKERS);
    return held.length === WORKERS && held.every((h) => h.n >= 64 - (WORKERS - 1) * fair);
  });

  const t = Date.now();
  const phase = (what: string) => console.log(`scale: ${what} at ${((Date.now() - t) / 1000).toFixed(1)} s`);
  phase("cluster up");
  // Phase 0: on an idle system, webhook 200 -> agent start.
  const idle = await idleLatency(ports, () => workers, 1000);
  await until("the idle turns to end", async () => (await countUnended()) === 0);
  phase("idle latency measured");
  // Phase 1: throughput, no faults.
  const batch = await throughput(ports, 0);
  const perWorker = await rows<{ worker_id: string; n: number }>(
    `select worker_id, count(*)::int as n from turns where update_id = any('{${batch.sent.join(",")}}'::bigint[]) group by worker_id order by worker_id`,
  );

  phase(`throughput batch done (${batch.rate.toFixed(2)} turns/s)`);
  // Phase 2: faults. More turns everywhere and a burst of short ones on topic 0; kill -9 w1 mid-turn.
  const sent = [...batch.sent];
  const sending = sendTurns(
    ports,
    Array.from({ length: FAULT_TOPICS }, (_, n) => n),
    (n) => (n === 0 ? 12 : PER_TOPIC),
    (n) => (n === 0 ? 200 : TURN_MS),
  );
  const victim = workers[0] as Proc;
  const runningOn = (proc: Proc) =>
    prompts(proc, Number.POSITIVE_INFINITY).filter((p) => p.end === Number.POSITIVE_INFINITY);
  await until("a turn running on w1", () => runningOn(victim).length > 0);
  const killedAt = Date.now();
  victim.child.kill("SIGKILL");
  const cut = new Set(runningOn(victim).map((p) => topicOfTag(p.tag)));
  sent.push(...(await sending));
  // Failover: the next turn of a topic w1 was running starts on another worker.
  let failoverMs = Number.NaN;
  await until(
    "a topic of w1 to go on elsewhere",
    () => {
      const next = workers
        .slice(1)
        .flatMap((w) => starts(w.events()))
        .filter((e) => e.at > killedAt && cut.has(topicOfTag(tagOf(e))))
        .map((e) => e.at);
      if (next.length > 0) failoverMs = Math.min(...next) - killedAt;
      return next.length > 0;
    },
    LEASE_TTL_MS * 4,
  );
  phase(`failover seen (${failoverMs} ms)`);
  const graceful = workers[1] as Proc;
  graceful.child.kill("SIGTERM");
  await until("w2 to stop", () => stdoutOf(graceful).includes('"stopped"'), 60_000);
  await until("every turn to end", async () => (await countUnended()) === 0, LEASE_TTL_MS * 6);
  await until(
    "nothing left in pg-boss",
    async () =>
      (
        await rows(
          "select 1 from pgboss.job where name like 'tg-acp.turns.%' and state in ('created','retry','active','failed') limit 1",
        )
      ).length === 0,
    LEASE_TTL_MS * 2,
  );

  phase("every turn ended");
  // One journal row per update id, none missing.
  const perUpdate = await rows<{ update_id: string; n: number }>(
    "select update_id, count(*)::int as n from turns where update_id is not null group by update_id",
  );
  expect(perUpdate.filter((r) => r.n !== 1)).toEqual([]);
  const journalled = new Set(perUpdate.map((r) => Number(r.update_id)));
  const lostRows = sent.filter((id) => !journalled.has(id));
  // Every turn ended: completed, or interrupted with its topic told (the Retry button).
  const turns = await rows<{ update_id: string; state: string; interrupt_notified: boolean }>(
    "select update_id, state, interrupt_notified from turns",
  );
  const unended = turns.filter((t) => !["completed", "interrupted"].includes(t.state));
  const untold = turns.filter((t) => t.state === "interrupted" && !t.interrupt_notified);
  const interrupted = turns.filter((t) => t.state === "interrupted").length;
  expect(unended).toEqual([]);
  expect(untold).toEqual([]);
  expect(interrupted).toBeGreaterThan(0);
  expect(lostRows).toEqual([]);

  // From the agents' logs: no prompt twice, per topic no overlap and update order.
  const all = workers.flatMap((w) => prompts(w, w === victim ? killedAt : Number.POSITIVE_INFINITY));
  const seen = new Map<string, number>();
  for (const p of all) seen.set(p.tag, (seen.get(p.tag) ?? 0) + 1);
  const doubled = [...seen].filter(([, n]) => n > 1).map(([tag]) => tag);
  expect(doubled).toEqual([]);
  const byTopic = new Map<number, typeof all>();
  for (const p of all) byTopic.set(topicOfTag(p.tag), [...(byTopic.get(topicOfTag(p.tag)) ?? []), p]);
  const problems: string[] = [];
  for (const [topic, list] of byTopic) {
    list.sort((a, b) => updateOfTag(a.tag) - updateOfTag(b.tag));
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1] as (typeof list)[number];
      const after = list[i] as (typeof list)[number];
      if (after.start < before.start)
        problems.push(`topic ${topic}: ${after.tag} started before ${before.tag}`);
      else if (after.start < before.end)
        problems.push(`topic ${topic}: ${after.tag} overlapped ${before.tag}`);
    }
  }
  expect(problems).toEqual([]);

  // The embedded mode on the same machine: one ROLE=all process, SQLite, 12 slots.
  for (const w of workers.slice(2)) w.child.kill("SIGTERM");
  for (const web of webs) web.child.kill("SIGTERM");
  await until("the cluster to stop", () =>
    [...workers.slice(2), ...webs].every((p) => p.child.exitCode !== null),
  );
  phase("cluster stopped");
  const single = await startProc("all", { MAX_CONCURRENT_TURNS: String(WORKERS * SLOTS) });
  const sqliteIdle = await idleLatency([single.port], () => [single], 3000);
  const sqliteTopics = Array.from({ length: TOPICS }, (_, n) => 2000 + n);
  const s0 = Date.now();
  const sqliteSent = await sendTurns([single.port], sqliteTopics, () => 1);
  const SQLITE_AFTER = 6 + sqliteIdle.length + sqliteSent.length;
  await until(
    "the SQLite batch to end",
    () => single.events().filter((e) => e.event === "prompt-end").length === SQLITE_AFTER,
  );
  const lastEnd = Math.max(...single.events().map((e) => e.at));
  const sqliteRate = sqliteSent.length / ((lastEnd - s0) / 1000);

  const busiest = Math.max(...perWorker.map((w) => w.n));
  const spreadIdeal = batch.sent.length / ((Math.ceil(busiest / SLOTS) * TURN_MS) / 1000);
  figures.push(
    `scale figures (${TURN_MS} ms turns; this machine: ${(await import("node:os")).cpus().length} cores shared by PostgreSQL, 5 bot processes and the test):`,
    "| measurement | 2 web + 3 workers x 4 slots, PostgreSQL | 1 process x 12 slots, SQLite | bar |",
    "|---|---|---|---|",
    `| turns/s (${batch.sent.length} turns, one per topic) | ${batch.rate.toFixed(2)} (${Math.round((batch.rate / IDEAL) * 100)}% of ${IDEAL}) | ${sqliteRate.toFixed(2)} (${Math.round((sqliteRate / IDEAL) * 100)}%) | >= 90% of ${IDEAL}/s |`,
    `| webhook 200 -> agent start, idle (n=20, after 6 warm-up turns) | p50 ${idle[9]} ms, p95 ${p95(idle)} ms | p50 ${sqliteIdle[9]} ms, p95 ${p95(sqliteIdle)} ms | p95 <= 300 ms |`,
    `| kill -9 -> next turn of an affected topic starts | ${(failoverMs / 1000).toFixed(1)} s (lease ttl ${LEASE_TTL_MS / 1000} s) | - | <= 60 s |`,
    `| doubled / lost turns | ${doubled.length} / ${lostRows.length + unended.length + untold.length} | - | 0 / 0 |`,
    `turns per worker in the throughput batch: ${perWorker.map((w) => `${w.worker_id} ${w.n}`).join(", ")} (the busiest bounds it: ideal for this spread ${spreadIdeal.toFixed(2)}/s, ${Math.round((batch.rate / spreadIdeal) * 100)}% of it); ${turns.length} turns in all, ${interrupted} interrupted by the faults (each told, with Retry)`,
  );
  expect(failoverMs).toBeLessThanOrEqual(60_000);
});
