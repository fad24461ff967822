import { sql } from "drizzle-orm";
import { fromDrizzle, type PgBoss } from "pg-boss";
import { createBossJobs, type TurnJobData } from "../db/pg/boss-jobs.js";
import type { OpenPgDatabase } from "../db/pg/database.js";
import type { PgTransaction } from "../db/pg/pg-store.js";
import { createShardLeases } from "../db/pg/shard-leases.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { QueuedTurn, TurnHandler, TurnQueue, TurnQueueHooks } from "../domain/turn-queue.js";
import type { Logger } from "../logger.js";
import { createLeaseKeeper, type LeaseKeeper } from "./lease-keeper.js";
import { byShard, queueShard, shardOf, shardQueue, turnJobId, turnJobKey } from "./shard.js";
import { listenForTurns, TURN_CHANNEL } from "./turn-boss.js";

/** Options of {@link openPgBossTurnQueue}; durations in ms. */
export type PgBossTurnQueueOptions = {
  database: OpenPgDatabase;
  /** A started pg-boss whose shard queues exist (startTurnBoss). */
  boss: PgBoss;
  shards: number;
  /** Turns this worker runs at once, across its shards (MAX_CONCURRENT_TURNS). */
  concurrency: number;
  /** Present in a process that runs turns (ROLE=worker|all); a web process only sends them. */
  worker?: { workerId: string; leaseTtlMs: number; renewMs?: number; balance?: boolean };
  /** Fallback poll for new jobs when no notification came; default 1000. */
  pollMs?: number;
  logger: Logger;
};

/** The pg-boss {@link TurnQueue}, with what the Postgres mode needs besides. */
export type PgBossTurnQueue = TurnQueue & {
  /** Sends the turn's job on `tx` (PgStoreOptions.onEnqueued), so turn and job commit together. */
  sendWithin(tx: PgTransaction, turn: QueuedTurn): Promise<void>;
  /** The shards this worker holds now. */
  heldShards(): number[];
  /** Whether this worker holds the shard of `key` now (it runs the topic's turns). */
  holdsTopic(key: TopicKey): boolean;
  /**
   * Graceful stop: takes no more jobs, lets running turns end for up to `graceMs` (then aborts
   * their signals), completes their jobs, gives up the leases and stops listening. Queued jobs stay
   * for the shards' next owners.
   */
  stop(graceMs: number): Promise<void>;
};

type InFlight = { shard: number; epoch: number; turn: QueuedTurn; aborted: AbortController };

/**
 * The distributed {@link TurnQueue} of the Postgres mode on pg-boss: a topic's turns go to the
 * `key_strict_fifo` queue of its shard (shardOf), keyed by topic key, so pg-boss hands out one
 * turn per key at a time, in order, to whichever worker holds the shard's lease. A worker fetches
 * only while it has a free slot (a turn waiting for a slot is still a pg-boss job: any process can
 * remove it) and only from its shards; NOTIFY on {@link TURN_CHANNEL} wakes it, a poll backs that up.
 * A job whose earlier attempt died with its worker (found still active, or failed, when the shard
 * is taken over, or handed out again by pg-boss) is never run again: hooks.onOrphan gets it and
 * the job is settled, so its topic goes on. Every job this queue takes ends completed or deleted.
 */
export async function openPgBossTurnQueue(options: PgBossTurnQueueOptions): Promise<PgBossTurnQueue> {
  const { boss, logger, concurrency } = options;
  const jobs = createBossJobs(options.database.db);
  const allQueues = Array.from({ length: options.shards }, (_, shard) => shardQueue(shard));
  const inFlight = new Map<string, InFlight>();
  /** Jobs whose agent is done while their answer is still posted: the key stays busy, the slot is free. */
  const delivering = new Map<string, number>();
  /** Turns whose job went out in the enqueuing transaction (sendWithin): enqueue sends nothing more. */
  const sentWithin = new Set<number>();
  const fetching = new Set<number>();
  let handler: TurnHandler | undefined;
  let hooks: TurnQueueHooks = {};
  let stopping = false;
  let pumping = false;
  let again = false;
  let cursor = 0;
  let idleWaiters: Array<() => void> = [];
  const unswept: Array<() => void> = [];
  const settleIdle = () => {
    if (inFlight.size > 0 || delivering.size > 0) return;
    for (const wake of idleWaiters.splice(0)) wake();
  };

  const orphan = async (turn: QueuedTurn) => {
    try {
      await hooks.onOrphan?.(turn);
    } catch (err) {
      logger.error({ err, turnId: turn.turnId }, "could not settle the turn of a dead worker");
    }
  };

  const worker = options.worker;
  const leases =
    worker &&
    createShardLeases(options.database.db, { ...worker, shards: options.shards, ttlMs: worker.leaseTtlMs });
  const fenceOf = (shard: number, epoch: number) =>
    leases ? leases.fence({ shard, epoch }) : { shard, epoch, workerId: "" };

  async function run(
    job: { id: string; data: TurnJobData; retryCount: number },
    queue: string,
    shard: number,
  ) {
    const holding = keeper?.holding(shard);
    if (!holding) {
      // The lease went while the fetch was on its way: hand the job back untouched.
      await jobs
        .unclaim(queue, job.id)
        .catch((err: unknown) => logger.warn({ err }, "could not hand a job back"));
      return;
    }
    const aborted = new AbortController();
    const signal = AbortSignal.any([holding.signal, aborted.signal]);
    const turn: QueuedTurn = { ...job.data, fence: fenceOf(shard, holding.epoch), signal };
    inFlight.set(job.id, { shard, epoch: holding.epoch, turn, aborted });
    let handled: Awaited<ReturnType<TurnHandler>>;
    try {
      if (job.retryCount > 0) await orphan(turn);
      else handled = await handler?.(turn);
    } catch (err) {
      logger.error({ err, turnId: turn.turnId }, "turn handler failed");
    } finally {
      inFlight.delete(job.id);
      // The slot is free; the job (and so its key) stays active until the answer is delivered.
      if (handled?.after) {
        delivering.set(job.id, shard);
        void pump();
        await handled.after.catch((err: unknown) =>
          logger.error({ err, turnId: turn.turnId }, "turn delivery failed"),
        );
        delivering.delete(job.id);
      }
      const now = keeper?.holding(shard);
      if (now && now.epoch !== holding.epoch) await orphan({ ...turn, fence: fenceOf(shard, now.epoch) });
      // Without the lease, the shard's new owner settles the job (its sweep).
      if (now)
        await boss.complete(queue, job.id).catch((err: unknown) => logger.warn({ err }, "complete failed"));
      settleIdle();
      void pump();
    }
  }

  async function pump(): Promise<void> {
    if (!handler || !keeper || stopping) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        if (inFlight.size >= concurrency) break;
        const ready = await jobs.readyQueues(keeper.held().map((h) => shardQueue(h.shard)));
        cursor = (cursor + 1) % Math.max(1, ready.length);
        for (const queue of [...ready.slice(cursor), ...ready.slice(0, cursor)]) {
          const free = concurrency - inFlight.size;
          const shard = queueShard(queue);
          if (free <= 0 || stopping) break;
          if (shard === undefined || !keeper.holding(shard)) continue;
          fetching.add(shard);
          try {
            const got = await boss.fetch<TurnJobData>(queue, { batchSize: free });
            for (const job of got) void run(job, queue, shard);
          } finally {
            fetching.delete(shard);
          }
        }
      } while (again);
    } catch (err) {
      logger.warn({ err }, "could not fetch turns; retrying");
    } finally {
      pumping = false;
    }
  }

  /** After taking a shard: settles what its previous owner left claimed or failed. */
  async function sweep(shard: number, epoch: number, signal: AbortSignal) {
    const queue = shardQueue(shard);
    for (const job of await jobs.claimedOrFailed(queue)) {
      if (inFlight.has(job.id)) continue; // this worker's own, from an older epoch: settled on return
      await orphan({ ...job.turn, fence: fenceOf(shard, epoch), signal });
      if (job.state === "failed") await boss.deleteJob(queue, job.id);
      else await boss.complete(queue, job.id);
    }
  }

  const keeper: LeaseKeeper | undefined =
    worker &&
    leases &&
    createLeaseKeeper({
      leases,
      shards: options.shards,
      ttlMs: worker.leaseTtlMs,
      ...(worker.renewMs !== undefined ? { renewMs: worker.renewMs } : {}),
      canRelease: (shard) =>
        !fetching.has(shard) &&
        ![...inFlight.values()].some((f) => f.shard === shard) &&
        ![...delivering.values()].includes(shard),
      load: async () => ({ running: inFlight.size, ready: byShard(await jobs.readyCounts(allQueues)) }),
      slots: concurrency,
      balance: worker.balance ?? true,
      onGained: ({ shard, epoch }) => {
        const go = () => {
          const signal = keeper?.holding(shard)?.signal ?? AbortSignal.abort();
          sweep(shard, epoch, signal)
            .catch((err: unknown) => logger.warn({ err, shard }, "could not sweep a taken shard"))
            .finally(() => void pump());
        };
        // The sweep needs hooks.onOrphan: shards taken before start() are swept then.
        if (handler) go();
        else unswept.push(go);
      },
      onLost: () => {},
      logger,
    });
  const listener = keeper && listenForTurns(options.database.url, () => void pump(), logger);
  const poll = keeper && setInterval(() => void pump(), options.pollMs ?? 1000);
  await keeper?.start();

  const waitingAt = async (turn: QueuedTurn) => {
    const shard = shardOf(turn.key, options.shards);
    if (!hooks.onWait || !keeper?.holding(shard) || inFlight.size < concurrency) return;
    const key = turnJobKey(turn.key);
    if ([...inFlight.values()].some((f) => turnJobKey(f.turn.key) === key)) return; // waits for its key
    const mine = keeper.held().map((h) => shardQueue(h.shard));
    hooks.onWait(turn, { running: inFlight.size, ahead: await jobs.keysWaitingForSlot(mine, key) });
  };

  const send = async (turn: QueuedTurn, db?: ReturnType<typeof fromDrizzle>) => {
    const data: TurnJobData = { turnId: turn.turnId, key: turn.key };
    const shard = shardOf(turn.key, options.shards);
    await boss.send(shardQueue(shard), data, {
      id: turnJobId(turn.turnId),
      singletonKey: turnJobKey(turn.key),
      ...(db ? { db } : {}),
    });
    return shard;
  };

  return {
    start(handle, given) {
      handler = handle;
      hooks = given ?? {};
      for (const sweepShard of unswept.splice(0)) sweepShard();
      void pump();
    },

    async enqueue(turn) {
      if (!handler) throw new Error("the turn queue was not started");
      if (!sentWithin.delete(turn.turnId)) {
        const shard = await send(turn);
        await options.database.db.execute(sql`select pg_notify(${TURN_CHANNEL}, ${String(shard)})`);
      }
      await waitingAt(turn);
      void pump();
    },

    async sendWithin(tx, turn) {
      const shard = await send(turn, fromDrizzle(tx, sql));
      await tx.execute(sql`select pg_notify(${TURN_CHANNEL}, ${String(shard)})`);
      sentWithin.add(turn.turnId);
    },

    removeQueued: (key) =>
      key
        ? jobs.removeCreated([shardQueue(shardOf(key, options.shards))], turnJobKey(key))
        : jobs.removeCreated(allQueues),

    queued: (key) => jobs.countWaiting(shardQueue(shardOf(key, options.shards)), turnJobKey(key)),

    async idle() {
      for (;;) {
        if (inFlight.size === 0 && !(await jobs.busy(allQueues))) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },

    heldShards: () => keeper?.held().map((h) => h.shard) ?? [],
    holdsTopic: (key) => keeper?.holding(shardOf(key, options.shards)) !== undefined,

    async stop(graceMs) {
      stopping = true;
      if (poll) clearInterval(poll);
      if (inFlight.size > 0 || delivering.size > 0) {
        const drained = new Promise<void>((resolve) => idleWaiters.push(resolve));
        const timer = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
        await Promise.race([drained, timer]);
        for (const running of inFlight.values()) running.aborted.abort(new Error("the worker is stopping"));
        await drained;
      }
      idleWaiters = [];
      await keeper?.stop();
      await listener?.close();
    },
  };
}
