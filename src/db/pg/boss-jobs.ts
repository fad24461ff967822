import { type SQL, sql } from "drizzle-orm";
import type { TopicKey } from "../../domain/topic-key.js";
import type { QueuedTurn } from "../../domain/turn-queue.js";
import type { PgDb } from "./database.js";

/** What a turn's pg-boss job carries (its `data`): the journal id and the topic key. */
export type TurnJobData = { turnId: number; key: TopicKey };

/** A pg-boss job of a turn as these queries return it. */
export type TurnJob = { id: string; queue: string; turn: QueuedTurn; retryCount: number };

const textArray = (values: string[]): SQL => sql`${`{${values.map((v) => `"${v}"`).join(",")}}`}::text[]`;

/**
 * Reads and removes turn jobs in pg-boss's job table directly, where pg-boss's API has no single
 * statement for it (its documented `job` table, pg-boss 12: name, id, state, singleton_key, data,
 * created_on, start_after, retry_count; states created < retry < active < completed < cancelled <
 * failed). Each call is one statement, so it is atomic with respect to pg-boss's fetch
 * (SELECT ... FOR UPDATE SKIP LOCKED): a job is removed only while nobody has claimed it.
 * `queues` are pg-boss queue names; `schema` is pg-boss's schema (default "pgboss").
 */
export function createBossJobs(db: PgDb, schema = "pgboss") {
  const job = sql.raw(`"${schema}".job`);
  const rowsOf = async (query: SQL) => (await db.execute(query)).rows as Array<Record<string, unknown>>;
  const turnJob = (row: Record<string, unknown>): TurnJob => {
    const data = row.data as TurnJobData;
    return {
      id: String(row.id),
      queue: String(row.name),
      turn: { turnId: data.turnId, key: data.key },
      retryCount: Number(row.retry_count ?? 0),
    };
  };
  return {
    /**
     * Deletes the jobs not claimed yet (state created) of `queues`, only those of `singletonKey`
     * when given; returns their turns in queue order (created_on, then turn id).
     */
    async removeCreated(queues: string[], singletonKey?: string): Promise<QueuedTurn[]> {
      const byKey = singletonKey === undefined ? sql`` : sql`and singleton_key = ${singletonKey}`;
      const rows = await rowsOf(sql`
        with removed as (
          delete from ${job} where name = any(${textArray(queues)}) and state = 'created' ${byKey}
          returning data, created_on)
        select data from removed order by created_on, (data->>'turnId')::bigint`);
      return rows.map((row) => turnJob({ ...row, id: "", name: "" }).turn);
    },

    /** How many jobs of `singletonKey` wait in `queue` (created, or retry: not being handled). */
    async countWaiting(queue: string, singletonKey: string): Promise<number> {
      const [row] = await rowsOf(sql`
        select count(*)::int as n from ${job}
        where name = ${queue} and singleton_key = ${singletonKey} and state in ('created', 'retry')`);
      return Number(row?.n ?? 0);
    },

    /** Whether any job of `queues` is waiting or being handled (created, retry or active). */
    async busy(queues: string[]): Promise<boolean> {
      const rows = await rowsOf(sql`
        select 1 from ${job} where name = any(${textArray(queues)}) and state in ('created', 'retry', 'active')
        limit 1`);
      return rows.length > 0;
    },

    /** The queues among `queues` that have a job ready to claim now (created or retry, due). */
    async readyQueues(queues: string[]): Promise<string[]> {
      if (queues.length === 0) return [];
      const rows = await rowsOf(sql`
        select distinct name from ${job}
        where name = any(${textArray(queues)}) and state in ('created', 'retry') and start_after <= now()`);
      return rows.map((row) => String(row.name));
    },

    /** How many jobs each of `queues` has ready to claim now (created or retry, due); absent: none. */
    async readyCounts(queues: string[]): Promise<Map<string, number>> {
      if (queues.length === 0) return new Map();
      const rows = await rowsOf(sql`
        select name, count(*)::int as n from ${job}
        where name = any(${textArray(queues)}) and state in ('created', 'retry') and start_after <= now()
        group by name`);
      return new Map(rows.map((row) => [String(row.name), Number(row.n)]));
    },

    /**
     * Hands a claimed job back unstarted (active → created, started_on cleared, so its next claim
     * is not counted as a retry), as pg-boss's own restore does.
     */
    async unclaim(queue: string, id: string): Promise<void> {
      await db.execute(sql`
        update ${job} set state = 'created', started_on = null, heartbeat_on = null
        where name = ${queue} and id = ${id}::uuid and state = 'active'`);
    },

    /** Jobs of `queue` in state active or failed: after a takeover, those of the previous owner. */
    async claimedOrFailed(queue: string): Promise<Array<TurnJob & { state: string }>> {
      const rows = await rowsOf(sql`
        select id, name, data, retry_count, state from ${job}
        where name = ${queue} and state in ('active', 'failed')`);
      return rows.map((row) => ({ ...turnJob(row), state: String(row.state) }));
    },

    /**
     * How many other keys of `queues` have a job waiting that could run at once but for a free
     * slot (their key has nothing active, in retry or failed): the "N ahead" of a queued turn.
     */
    async keysWaitingForSlot(queues: string[], exceptKey: string): Promise<number> {
      const [row] = await rowsOf(sql`
        select count(distinct w.singleton_key)::int as n from ${job} w
        where w.name = any(${textArray(queues)}) and w.state = 'created' and w.singleton_key <> ${exceptKey}
          and not exists (select 1 from ${job} b where b.name = w.name and b.singleton_key = w.singleton_key
            and b.state in ('active', 'retry', 'failed'))`);
      return Number(row?.n ?? 0);
    },
  };
}

/** The turn-job queries over pg-boss's table; see {@link createBossJobs}. */
export type BossJobs = ReturnType<typeof createBossJobs>;
