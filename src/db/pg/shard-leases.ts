import { and, eq, gt, inArray, lte, ne, sql } from "drizzle-orm";
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

    /**
     * Says this worker is alive for another ttl with `load` (turns running + ready in its shards);
     * returns the loads of the other live workers.
     */
    async heartbeat(load: number): Promise<number[]> {
      const set = { aliveUntil: sql`${until}`, load: Math.max(0, Math.trunc(load)) };
      await db
        .insert(workers)
        .values({ workerId, ...set })
        .onConflictDoUpdate({ target: workers.workerId, set });
      const rows = await db
        .select({ load: workers.load })
        .from(workers)
        .where(and(gt(workers.aliveUntil, sql`now()`), ne(workers.workerId, workerId)));
      return rows.map((row) => row.load);
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

    /** The shards whose lease ran out (or was given up), in random order. */
    async free(): Promise<number[]> {
      const rows = await db
        .select({ shard: shardLease.shard })
        .from(shardLease)
        .where(and(lte(shardLease.leaseUntil, sql`now()`), sql`${shardLease.shard} < ${shards}`))
        .orderBy(sql`random()`);
      return rows.map((row) => row.shard);
    },

    /**
     * Takes those of `wanted` whose lease has still run out, each at a new epoch; a shard another
     * worker took meanwhile is left out (the UPDATE re-checks the lease after the row lock).
     */
    async take(wanted: number[]): Promise<HeldShard[]> {
      if (wanted.length === 0) return [];
      return db
        .update(shardLease)
        .set({ workerId, epoch: sql`${shardLease.epoch} + 1`, leaseUntil: sql`${until}` })
        .where(and(inArray(shardLease.shard, wanted), lte(shardLease.leaseUntil, sql`now()`)))
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
