import { and, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { TurnFence } from "../../domain/turn.js";
import type { PgDb } from "./database.js";
import { shardLease, workers } from "./schema.js";

/** A Postgres array literal of integers (drizzle would expand a JS array into a list). */
const pgArray = (values: number[]) => `{${values.map((v) => Math.trunc(v)).join(",")}}`;

/** One shard a worker holds: the shard and the epoch it took it at. */
export type HeldShard = { shard: number; epoch: number };

/**
 * The `shard_lease` and `workers` tables, as one worker (`workerId`) sees them. Every time is the
 * database's clock (now()), so workers on machines whose clocks disagree still agree on who holds
 * what; a lease lasts `ttlMs` from its last renewal. Taking a shard increments its epoch, which
 * fences the previous holder's writes (TurnFence).
 */
export function createShardLeases(db: PgDb, options: { workerId: string; shards: number; ttlMs: number }) {
  const { workerId, shards } = options;
  const until = sql`now() + make_interval(secs => ${options.ttlMs / 1000})`;
  return {
    /** Creates the rows of shards 0..shards-1 that do not exist yet (free, epoch 0). */
    async ensureShards(): Promise<void> {
      await db
        .insert(shardLease)
        .select(sql`select g, '', 0, 'epoch'::timestamptz from generate_series(0, ${shards - 1}::int) g`)
        .onConflictDoNothing();
    },

    /** Says this worker is alive for another ttl; returns how many workers are alive (this one included). */
    async heartbeat(): Promise<number> {
      await db
        .insert(workers)
        .values({ workerId, aliveUntil: sql`${until}` })
        .onConflictDoUpdate({ target: workers.workerId, set: { aliveUntil: sql`${until}` } });
      const [row] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(workers)
        .where(gt(workers.aliveUntil, sql`now()`));
      return row?.n ?? 1;
    },

    /** Extends the leases of `held` that are still this worker's and unexpired; returns those shards. */
    async renew(held: HeldShard[]): Promise<Set<number>> {
      if (held.length === 0) return new Set();
      const rows = await db
        .update(shardLease)
        .set({ leaseUntil: sql`${until}` })
        .where(
          and(
            eq(shardLease.workerId, workerId),
            gt(shardLease.leaseUntil, sql`now()`),
            sql`(${shardLease.shard}, ${shardLease.epoch}) in (select * from unnest(${pgArray(held.map((h) => h.shard))}::int[], ${pgArray(held.map((h) => h.epoch))}::bigint[]))`,
          ),
        )
        .returning({ shard: shardLease.shard });
      return new Set(rows.map((row) => row.shard));
    },

    /** Takes up to `max` shards whose lease ran out (any holder), each at a new epoch. */
    async acquire(max: number): Promise<HeldShard[]> {
      if (max <= 0) return [];
      const free = db
        .select({ shard: shardLease.shard })
        .from(shardLease)
        .where(and(lte(shardLease.leaseUntil, sql`now()`), sql`${shardLease.shard} < ${shards}`))
        .orderBy(sql`random()`)
        .limit(max)
        .for("update", { skipLocked: true });
      return db
        .update(shardLease)
        .set({ workerId, epoch: sql`${shardLease.epoch} + 1`, leaseUntil: sql`${until}` })
        .where(inArray(shardLease.shard, free))
        .returning({ shard: shardLease.shard, epoch: shardLease.epoch });
    },

    /** Gives shards up at once (their leases end now), if this worker still holds them at those epochs. */
    async release(held: HeldShard[]): Promise<void> {
      for (const { shard, epoch } of held) {
        await db
          .update(shardLease)
          .set({ leaseUntil: sql`'epoch'::timestamptz` })
          .where(
            and(eq(shardLease.shard, shard), eq(shardLease.epoch, epoch), eq(shardLease.workerId, workerId)),
          );
      }
    },

    /** Says this worker is gone (its row in `workers` ends now). */
    async leave(): Promise<void> {
      await db.delete(workers).where(eq(workers.workerId, workerId));
    },

    /** The fence of a held shard, for the journal writes of its turns. */
    fence(held: HeldShard): TurnFence {
      return { shard: held.shard, workerId, epoch: held.epoch };
    },
  };
}

/** The lease table of one worker; see {@link createShardLeases}. */
export type ShardLeases = ReturnType<typeof createShardLeases>;
