import { performance } from "node:perf_hooks";
import type { HeldShard, ShardLeases } from "../db/pg/shard-leases.js";
import type { Logger } from "../logger.js";

/** Options of {@link createLeaseKeeper}; durations in ms. */
export type LeaseKeeperOptions = {
  leases: ShardLeases;
  shards: number;
  /** How long a lease lasts after a renewal (~20000). */
  ttlMs: number;
  /** How often leases are renewed and free shards taken; default ttl / 4. */
  renewMs?: number;
  /** Whether a held shard may be given up now (nothing of it is being fetched or run). */
  canRelease: (shard: number) => boolean;
  /** A shard was taken (at a new epoch): work its queue, after sweeping what its last owner left. */
  onGained: (held: HeldShard) => void;
  /** A shard was lost (renewal refused or late): stop its turns, complete nothing more of it. */
  onLost: (held: HeldShard, why: string) => void;
  logger: Logger;
};

type Holding = HeldShard & { deadline: number; lost: AbortController };

/**
 * Keeps one worker's shard leases: every `renewMs` it says it is alive (table `workers`), renews
 * the leases it holds, gives up idle shards above its fair share (ceil(shards / live workers)) so
 * that a worker that joins gets some, and takes expired leases up to that share. A lease counts as
 * lost when the database refuses its renewal, or locally once ttl * 3/4 has passed since the last
 * renewal began (before the database would let another worker take it, so the turns stop first).
 */
export function createLeaseKeeper(options: LeaseKeeperOptions) {
  const { leases, logger } = options;
  const renewMs = options.renewMs ?? Math.max(250, Math.floor(options.ttlMs / 4));
  const held = new Map<number, Holding>();
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let stopped = false;

  const lose = (shard: number, why: string) => {
    const holding = held.get(shard);
    if (!holding) return;
    held.delete(shard);
    holding.lost.abort(new Error(`shard ${shard} lease lost: ${why}`));
    logger.warn({ shard, epoch: holding.epoch, why }, "shard lease lost");
    options.onLost({ shard, epoch: holding.epoch }, why);
  };

  const checkDeadlines = () => {
    const now = performance.now();
    for (const holding of [...held.values()]) {
      if (now > holding.deadline) lose(holding.shard, "not renewed in time");
    }
  };

  async function tick(): Promise<void> {
    const live = await leases.heartbeat();
    const renewStart = performance.now();
    const mine = [...held.values()];
    const renewed = await leases.renew(mine.map(({ shard, epoch }) => ({ shard, epoch })));
    for (const holding of mine) {
      if (held.get(holding.shard) !== holding) continue;
      if (renewed.has(holding.shard)) holding.deadline = renewStart + (options.ttlMs * 3) / 4;
      else lose(holding.shard, "renewal refused");
    }
    const fair = Math.ceil(options.shards / Math.max(1, live));
    const excess = [...held.values()].filter((h) => options.canRelease(h.shard)).slice(0, held.size - fair);
    if (excess.length > 0) {
      for (const holding of excess) held.delete(holding.shard);
      await leases.release(excess.map(({ shard, epoch }) => ({ shard, epoch })));
      logger.info({ shards: excess.map((h) => h.shard), fair }, "shards given up for a fair share");
    }
    if (stopped) return;
    const taken = await leases.acquire(fair - held.size);
    for (const { shard, epoch } of taken) {
      const holding = {
        shard,
        epoch,
        deadline: renewStart + (options.ttlMs * 3) / 4,
        lost: new AbortController(),
      };
      held.set(shard, holding);
      options.onGained({ shard, epoch });
    }
    if (taken.length > 0) logger.info({ shards: taken.map((t) => t.shard), fair, live }, "shards taken");
  }

  const loop = async () => {
    try {
      await tick();
    } catch (err) {
      logger.warn({ err }, "shard leases could not be renewed; retrying");
    }
    if (!stopped) timer = setTimeout(loop, renewMs);
  };

  return {
    /** Registers the shards, then takes a first share; renews from then on. */
    async start(): Promise<void> {
      await leases.ensureShards();
      watchdog = setInterval(checkDeadlines, Math.min(500, renewMs));
      await loop();
    },
    /** The shards held now, with their epochs. */
    held: (): HeldShard[] => [...held.values()].map(({ shard, epoch }) => ({ shard, epoch })),
    /** The holding of `shard` (its epoch and the signal that aborts when it is lost), if held. */
    holding(shard: number): { epoch: number; signal: AbortSignal } | undefined {
      const holding = held.get(shard);
      return holding && { epoch: holding.epoch, signal: holding.lost.signal };
    },
    /** Stops renewing; gives up every held shard that `canRelease`, and leaves the `workers` table. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      clearInterval(watchdog);
      const idle = [...held.values()].filter((h) => options.canRelease(h.shard));
      for (const holding of idle) held.delete(holding.shard);
      await leases.release(idle.map(({ shard, epoch }) => ({ shard, epoch })));
      await leases.leave();
    },
  };
}

/** One worker's lease keeper; see {@link createLeaseKeeper}. */
export type LeaseKeeper = ReturnType<typeof createLeaseKeeper>;
