/**
 * Session store throughput with 100,000 rows: the bot's store (Drizzle) next to raw better-sqlite3
 * prepared statements doing the same SQL, on one database file opened like the bot opens it (WAL,
 * synchronous=NORMAL), in alternating rounds.
 */
import path from "node:path";
import { makeTempDir } from "../../test/support/temp-dir.js";
import { fromDist } from "./dist.js";
import { median } from "./stats.js";

/** Operations per second, median of the rounds. */
export type StoreResult = { get: number; rawGet: number; upsert: number; rawUpsert: number; rows: number };

/** Rows in the table, operations per timed round, rounds. */
export const STORE = { rows: 100_000, opsPerRound: 50_000, rounds: 3 };

const keyOf = (i: number) => ({ chatId: -1001000000000 - (i % 50), threadId: i, userId: 100_000 + (i % 13) });

/** Ops per second of `op` over `count` calls, keys visited in a scattered order. */
function rate(count: number, rows: number, op: (i: number) => void): number {
  const started = performance.now();
  for (let n = 0; n < count; n++) op((n * 7919) % rows);
  return (count / (performance.now() - started)) * 1000;
}

/** Fills a fresh database with {@link STORE}.rows sessions and measures get and upsert on it. */
export async function measureSessionStore(): Promise<StoreResult> {
  const { openDatabase } = await fromDist<typeof import("../../src/db/database.js")>("db/database.js");
  const { createSessionStore } =
    await fromDist<typeof import("../../src/db/session-store.js")>("db/session-store.js");
  const temp = makeTempDir("tg-acp-bench-store-");
  const database = openDatabase(path.join(temp.dir, "bench.db"));
  try {
    const { sqlite } = database;
    const insert = sqlite.prepare(
      "insert into sessions (chat_id, thread_id, user_id, session_id, workspace_path) values (?, ?, ?, ?, ?)",
    );
    sqlite.transaction(() => {
      for (let i = 0; i < STORE.rows; i++) {
        const k = keyOf(i);
        insert.run(k.chatId, k.threadId, k.userId, `session-${i}`, `/data/workspaces/${i}`);
      }
    })();
    const store = createSessionStore(database);
    const rawGet = sqlite.prepare(
      "select * from sessions where chat_id = ? and thread_id = ? and user_id = ?",
    );
    const rawUpsert = sqlite.prepare(
      `insert into sessions (chat_id, thread_id, user_id, session_id, workspace_path, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?)
       on conflict (chat_id, thread_id, user_id) do update set
         session_id = excluded.session_id, workspace_path = excluded.workspace_path, updated_at = excluded.updated_at`,
    );
    const rates = {
      get: [] as number[],
      rawGet: [] as number[],
      upsert: [] as number[],
      rawUpsert: [] as number[],
    };
    for (let round = 0; round < STORE.rounds; round++) {
      rates.get.push(rate(STORE.opsPerRound, STORE.rows, (i) => store.get(keyOf(i))));
      rates.rawGet.push(
        rate(STORE.opsPerRound, STORE.rows, (i) => {
          const k = keyOf(i);
          rawGet.get(k.chatId, k.threadId, k.userId);
        }),
      );
      rates.upsert.push(
        rate(STORE.opsPerRound, STORE.rows, (i) => store.upsert(keyOf(i), `s-${round}-${i}`, `/w/${i}`)),
      );
      rates.rawUpsert.push(
        rate(STORE.opsPerRound, STORE.rows, (i) => {
          const k = keyOf(i);
          const at = new Date().toISOString();
          rawUpsert.run(k.chatId, k.threadId, k.userId, `r-${round}-${i}`, `/w/${i}`, at, at);
        }),
      );
    }
    return {
      get: median(rates.get),
      rawGet: median(rates.rawGet),
      upsert: median(rates.upsert),
      rawUpsert: median(rates.rawUpsert),
      rows: (sqlite.prepare("select count(*) as n from sessions").get() as { n: number }).n,
    };
  } finally {
    database.close();
    temp.cleanup();
  }
}
