import { describe, expect, it } from "vitest";
import { type BalanceInput, planBalance } from "../src/cluster/shard-balance.js";

const input = (over: Partial<BalanceInput>): BalanceInput => ({
  shards: 4,
  slots: 2,
  running: 0,
  held: [],
  free: [],
  others: [],
  balance: true,
  ...over,
});
const idle = (shard: number, ready = 0) => ({ shard, ready, releasable: true });

describe("planBalance", () => {
  it("fills a fair share of free shards, and gives up idle ones above it", () => {
    const free = [0, 1, 2, 3].map((shard) => ({ shard, ready: 0 }));
    expect(planBalance(input({ free, others: [0] })).take).toEqual([0, 1]);
    expect(planBalance(input({ free })).take).toEqual([0, 1, 2, 3]);
    const held = [idle(0), idle(1), { shard: 2, ready: 0, releasable: false }, idle(3)];
    expect(planBalance(input({ held, others: [0] }))).toMatchObject({
      release: [0, 1],
      donated: [],
      take: [],
    });
  });

  it("hands a saturated worker's idle shards with waiting turns to the least-loaded, only while that narrows the gap", () => {
    const held = [{ shard: 0, ready: 0, releasable: false }, idle(1, 3), idle(2, 1)];
    const plan = planBalance(input({ running: 2, held, others: [0, 9] }));
    expect(plan).toMatchObject({ load: 6, release: [1], donated: [1], take: [] });
    // Not saturated (a slot free): it runs its own waiting turns.
    expect(planBalance(input({ running: 1, held, others: [0] })).donated).toEqual([]);
    // Balance off: shards stay.
    expect(planBalance(input({ running: 2, held, others: [0], balance: false })).donated).toEqual([]);
    // A gap smaller than twice the shard's turns: moving it would not help.
    expect(planBalance(input({ running: 2, held, others: [5] })).donated).toEqual([]);
  });

  it("takes a free shard with waiting turns when that leaves it below the busiest, or when it is the least loaded", () => {
    const held = [idle(0), idle(1)];
    const free = [{ shard: 2, ready: 3 }];
    expect(planBalance(input({ running: 2, held, free, others: [9, 1] })).take).toEqual([2]);
    // Above the least loaded and not helping the busiest: left for a less-loaded worker.
    expect(planBalance(input({ running: 5, held, free, others: [8, 1] })).take).toEqual([]);
    // The least-loaded takes it whatever its share, balance on or off, so it never stays unowned.
    expect(planBalance(input({ running: 1, held, free, others: [8, 2], balance: false })).take).toEqual([2]);
    // Free for more than a tick: taken whatever the loads (each worker sees the others' loads late).
    expect(
      planBalance(input({ running: 5, held, free: [{ shard: 2, ready: 3, stale: true }], others: [8, 1] }))
        .take,
    ).toEqual([2]);
  });

  it("fills its share with shards without waiting turns while above the average load", () => {
    const free = [
      { shard: 0, ready: 2 },
      { shard: 1, ready: 0 },
    ];
    expect(planBalance(input({ running: 10, free, others: [0] })).take).toEqual([1]);
    expect(planBalance(input({ running: 0, free, others: [10] })).take).toEqual([0, 1]);
  });
});
