/** One shard this worker holds, as the balance plan sees it. */
export type HeldShardLoad = {
  shard: number;
  /** Turn jobs of the shard ready to claim (pg-boss state created or retry, due). */
  ready: number;
  /** Nothing of the shard is being fetched, run or delivered here: it may change hands now. */
  releasable: boolean;
};

/** What one worker knows at a lease tick; loads are turns (running + ready), slots are turns at once. */
export type BalanceInput = {
  shards: number;
  /** Turns this worker runs at once (MAX_CONCURRENT_TURNS). */
  slots: number;
  /** Turns this worker runs now. */
  running: number;
  held: HeldShardLoad[];
  /**
   * Shards nobody holds (lease ended), this worker's recent donations left out, with their ready
   * jobs; `stale`: free for more than one tick already (taken whatever the loads, so none stays
   * unowned when workers judge each other's loads from different moments).
   */
  free: Array<{ shard: number; ready: number; stale?: boolean }>;
  /** The loads the other live workers published at their last tick (table `workers`). */
  others: number[];
  /** Whether shards with waiting turns may move to a less-loaded worker (SHARD_BALANCE). */
  balance: boolean;
};

/** The plan of one tick: shards to give up (the `donated` ones with waiting turns among them) and to take. */
export type BalancePlan = { release: number[]; donated: number[]; take: number[]; load: number };

const byReadyDesc = <T extends { ready: number }>(a: T, b: T) => b.ready - a.ready;

/**
 * Plans one worker's lease changes at a tick, from loads in turns (running + ready of its shards):
 * - gives up idle shards without waiting turns above its fair share, ceil(shards / live workers),
 *   so that a worker that joins gets some;
 * - while all its slots are busy, gives the least-loaded other worker idle shards with waiting
 *   turns, each only when it narrows the gap (2 * ready <= own load - that worker's load);
 * - takes free shards with waiting turns when that leaves it below the busiest other worker, or
 *   when it is the least loaded (so a released shard always finds an owner), whatever its share;
 * - fills its fair share with other free shards (those with waiting turns only when it is not
 *   above the average load).
 * A topic stays on its worker unless that worker is saturated and another is less loaded: work
 * stealing at shard granularity. Pure; the caller applies the plan.
 */
export function planBalance(input: BalanceInput): BalancePlan {
  const { held, others, slots, running } = input;
  const load = running + held.reduce((sum, h) => sum + h.ready, 0);
  const live = others.length + 1;
  const fair = Math.ceil(input.shards / live);
  const average = (load + others.reduce((sum, n) => sum + n, 0)) / live;
  let count = held.length;
  const release: number[] = [];
  for (const h of held) {
    if (count <= fair) break;
    if (h.releasable && h.ready === 0) {
      release.push(h.shard);
      count--;
    }
  }
  const donated: number[] = [];
  let mine = load;
  if (input.balance && others.length > 0 && running >= slots) {
    let least = Math.min(...others);
    for (const h of held.filter((h) => h.releasable && h.ready > 0).sort(byReadyDesc)) {
      if (2 * h.ready > mine - least) continue;
      donated.push(h.shard);
      mine -= h.ready;
      least += h.ready;
      count--;
    }
  }
  const take: number[] = [];
  const busiest = others.length > 0 ? Math.max(...others) : 0;
  const least = others.length > 0 ? Math.min(...others) : Number.POSITIVE_INFINITY;
  for (const f of input.free.filter((f) => f.ready > 0).sort(byReadyDesc)) {
    const helps = input.balance && mine + f.ready <= busiest - f.ready;
    if (!helps && !f.stale && !(mine <= least) && !(count < fair && mine <= average)) continue;
    take.push(f.shard);
    mine += f.ready;
    count++;
  }
  for (const f of input.free) {
    if (count >= fair) break;
    if (f.ready > 0) continue;
    take.push(f.shard);
    count++;
  }
  return { release: [...release, ...donated], donated, take, load };
}
