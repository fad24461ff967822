/**
 * Webhook acknowledgement under load: autocannon POSTs valid Updates (text messages from an allowed
 * user into many forum topics, each with its own update_id) to a server in a child process, on
 * 127.0.0.1 only, bounded in time and in count.
 */
import autocannon from "autocannon";
import { FIXTURE_USER_ID, topicTextUpdate } from "../../test/support/updates.js";
import { startChildServer } from "./child-server.js";
import { BENCH_SETTINGS } from "./settings.js";
import { median, percentile } from "./stats.js";

/** What the load runs of one target measured. */
export type LoadResult = {
  /** Median over the rounds of completed requests per second. */
  requestsPerSecond: number;
  /** Completed requests per second of each round, in order (rounds of all targets alternate). */
  roundRates: number[];
  /** Response latency percentiles of all 2xx responses of all rounds, ms. */
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /**
   * 2xx responses including the warm-up, the turns the stub runner counted meanwhile (0: bare), and
   * the requests sent (a request in flight when a run stopped is sent and handled, but not counted
   * as a response): acknowledged ≤ enqueued ≤ sent when nothing is lost.
   */
  acknowledged: number;
  enqueued: number;
  sent: number;
};

/**
 * Load parameters: connections, rounds of `seconds` per target (alternating between targets), the most
 * requests one round may send, the warm-up, and how many forum topics the Updates go to.
 */
export const LOAD = {
  connections: 10,
  rounds: 9,
  seconds: 3,
  maxRequests: 1_000_000,
  warmupSeconds: 1,
  topics: 500,
};

const WEBHOOK_PATH = "/telegram/webhook";
/**
 * The next update_id, over every run of the process: Telegram never reuses one, and a run that started
 * again at 1 would have the bot's update-id dedupe drop its first ids as repeats of the last run's.
 */
let nextUpdateId = 0;

/** Distinct Update bodies: `topics` forum topics, allowed user; update_id is patched per request. */
function bodies(topics: number): string[] {
  return Array.from({ length: topics }, (_, i) =>
    JSON.stringify(topicTextUpdate(`load ${i}`, { threadId: 10_000 + i, userId: FIXTURE_USER_ID })),
  );
}

function run(
  port: number,
  seconds: number,
  maxRequests: number,
  latencies: number[] | undefined,
  sent: { count: number },
): Promise<autocannon.Result> {
  const pool = bodies(LOAD.topics);
  let finish: (err: unknown, result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err ? reject(err) : resolve(result));
  });
  const instance = autocannon(
    {
      url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": BENCH_SETTINGS.TELEGRAM_WEBHOOK_SECRET,
      },
      connections: LOAD.connections,
      duration: seconds,
      maxOverallRequests: maxRequests,
      requests: [
        {
          setupRequest: (request) => {
            nextUpdateId += 1;
            sent.count += 1;
            const body = (pool[nextUpdateId % pool.length] as string).replace(
              /"update_id":\d+/,
              `"update_id":${nextUpdateId}`,
            );
            return { ...request, body };
          },
        },
      ],
    },
    (err, result) => finish(err, result),
  );
  if (latencies) {
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  }
  return done;
}

/**
 * Starts each target (scripts/bench/serve.ts) in its own child process, warms it up, then measures
 * them in alternating rounds, so drift in the machine's speed hits all of them alike.
 */
export async function measureWebhookLoad<T extends string>(
  targets: readonly T[],
): Promise<Record<T, LoadResult>> {
  const servers = await Promise.all(targets.map((target) => startChildServer(target)));
  try {
    const runs = targets.map(() => ({
      rates: [] as number[],
      latencies: [] as number[],
      requests: 0,
      acknowledged: 0,
      non2xx: 0,
      errors: 0,
      sent: { count: 0 },
    }));
    const before = await Promise.all(servers.map((server) => server.stats()));
    const warmups: number[] = [];
    for (const server of servers) {
      const warmup = await run(
        server.port,
        LOAD.warmupSeconds,
        LOAD.maxRequests,
        undefined,
        (runs[servers.indexOf(server)] as (typeof runs)[number]).sent,
      );
      warmups.push(warmup["2xx"]);
    }
    for (let round = 0; round < LOAD.rounds; round++) {
      for (const [i, server] of servers.entries()) {
        const into = runs[i] as (typeof runs)[number];
        const result = await run(server.port, LOAD.seconds, LOAD.maxRequests, into.latencies, into.sent);
        into.rates.push(result.requests.total / result.duration);
        into.requests += result.requests.total;
        into.acknowledged += result["2xx"];
        into.non2xx += result.non2xx;
        into.errors += result.errors + result.timeouts;
      }
    }
    // Dispatch runs after the acknowledgement: let the last updates reach the runner.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await Promise.all(servers.map((server) => server.stats()));
    return Object.fromEntries(
      targets.map((target, i) => {
        const r = runs[i] as (typeof runs)[number];
        const result: LoadResult = {
          requestsPerSecond: median(r.rates),
          roundRates: r.rates,
          p50Ms: percentile(r.latencies, 0.5),
          p99Ms: percentile(r.latencies, 0.99),
          requests: r.requests,
          non2xx: r.non2xx,
          errors: r.errors,
          acknowledged: r.acknowledged + (warmups[i] ?? 0),
          enqueued: (after[i]?.enqueued ?? 0) - (before[i]?.enqueued ?? 0),
          sent: r.sent.count,
        };
        return [target, result];
      }),
    ) as Record<T, LoadResult>;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}
