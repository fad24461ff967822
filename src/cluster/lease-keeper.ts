import { performance } from "node:perf_hooks";
import type { HeldShard, ShardLeases } from "../db/pg/shard-leases.js";
import type { Logger } from "../logger.js";
import { planBalance } from "./shard-balance.js";

/** Options of {@link createLeaseKeeper}; durations in ms. */
export type LeaseKeeperOptions = {
  leases: ShardLeases;
  shards: number;
  /** How long a lease lasts after a renewal (~20000). */
  ttlMs: number;
  /** How often leases are renewed and free shards taken; default ttl / 4, at most 1000. */
  renewMs?: number;
  /** Whether a held shard may be given up now (nothing of it is being fetched or run). */
  canRelease: (shard: number) => boolean;
  /** Turns this worker runs now, and the ready turn jobs per shard (all shards; absent: none). */
  load: () => Promise<{ running: number; ready: Map<number, number> }>;
  /** Turns this worker runs at once (MAX_CONCURRENT_TURNS). */
  slots: number;
  /** Whether a saturated worker hands shards with waiting turns to a less-loaded one (SHARD_BALANCE). */
  balance: boolean;
  /** A shard was taken (at a new epoch): work its queue, after sweeping what its last owner left. */
  onGained: (held: HeldShard) => void;
  /** A shard was lost (renewal refused or late): stop its turns, complete nothing more of it. */
  onLost: (held: HeldShard, why: string) => void;
  logger: Logger;
};

type Holding = HeldShard & { deadline: number; lost: AbortController };

/** Ticks for which a worker does not take back a shard it gave away for balance. */
const DONATION_COOLDOWN_TICKS = 3;

/**
 * Keeps one worker's shard leases: every `renewMs` it says it is alive with its load (table
 * `workers`), renews the leases it holds, then gives up and takes shards as {@link planBalance}
 * plans (a fair share of ceil(shards / live workers), and shards with waiting turns moving from a
 * saturated worker to a less-loaded one). A lease counts as lost when the database refuses its
 * renewal, or locally once ttl * 3/4 has passed since the last renewal began (before the database
 * would let another worker take it, so the turns stop first).
 */
export function createLeaseKeeper(options: LeaseKeeperOptions) {
  const { leases, logger } = options;
  // At least every second, so that loads are fresh for the balance (a tick is three small statements).
  const renewMs = options.renewMs ?? Math.max(250, Math.min(1000, Math.floor(options.ttlMs / 4)));
  const held = new Map<number, Holding>();
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticks = 0;
  /** Shards given away for balance -> the tick until which this worker leaves them to others. */
  const donatedUntil = new Map<number, number>();
  /** Free shards seen at the last tick. */
  let seenFree = new Set<number>();

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
    ticks++;
    const { running, ready } = await options.load();
    const readyOf = (shard: number) => ready.get(shard) ?? 0;
    const load = running + [...held.keys()].reduce((sum, shard) => sum + readyOf(shard), 0);
    const others = await leases.heartbeat(load);
    const renewStart = performance.now();
    const mine = [...held.values()];
    const renewed = await leases.renew(mine.map(({ shard, epoch }) => ({ shard, epoch })));
    for (const holding of mine) {
      if (held.get(holding.shard) !== holding) continue;
      if (renewed.has(holding.shard)) holding.deadline = renewStart + (options.ttlMs * 3) / 4;
      else lose(holding.shard, "renewal refused");
    }
    for (const [shard, until] of donatedUntil) if (until < ticks) donatedUntil.delete(shard);
    const free = stopped ? [] : (await leases.free()).filter((shard) => !donatedUntil.has(shard));
    const stale = seenFree;
    seenFree = new Set(free);
    const plan = planBalance({
      shards: options.shards,
      slots: options.slots,
      running,
      held: [...held.values()].map(({ shard }) => ({
        shard,
        ready: readyOf(shard),
        releasable: options.canRelease(shard),
      })),
      free: free.map((shard) => ({ shard, ready: readyOf(shard), stale: stale.has(shard) })),
      others,
      balance: options.balance,
    });
    const givenUp = plan.release.flatMap((shard) => held.get(shard) ?? []);
    if (givenUp.length > 0) {
      for (const holding of givenUp) held.delete(holding.shard);
      for (const shard of plan.donated) donatedUntil.set(shard, ticks + DONATION_COOLDOWN_TICKS);
      await leases.release(givenUp.map(({ shard, epoch }) => ({ shard, epoch })));
      logger.info({ shards: plan.release, donated: plan.donated, load, others }, "shards given up");
    }
    if (stopped) return;
    const taken = await leases.take(plan.take);
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
    if (taken.length > 0) logger.info({ shards: taken.map((t) => t.shard), load, others }, "shards taken");
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
