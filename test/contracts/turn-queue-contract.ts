import { describe, expect, it } from "vitest";
import type { TopicKey } from "../../src/domain/topic-key.js";
import type { QueuedTurn, TurnQueue } from "../../src/domain/turn-queue.js";

const a: TopicKey = { chatId: -100, threadId: 1, userId: 42 };
const b: TopicKey = { chatId: -100, threadId: 2, userId: 42 };
const c: TopicKey = { chatId: -100, threadId: 3, userId: 42 };

/** A handler whose turns end when the test releases them. */
function gate() {
  const started: number[] = [];
  const release = new Map<number, () => void>();
  let waiters: Array<() => void> = [];
  const handler = (turn: QueuedTurn) =>
    new Promise<void>((resolve) => {
      started.push(turn.turnId);
      release.set(turn.turnId, resolve);
      for (const wake of waiters) wake();
      waiters = [];
    });
  const startedCount = async (n: number) => {
    while (started.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const finish = (turnId: number) => release.get(turnId)?.();
  return { started, handler, startedCount, finish };
}

/**
 * The contract every {@link TurnQueue} implementation keeps, run against `make(concurrency)`: one
 * turn at a time per key in order, keys in parallel up to the concurrency, removal of what has not
 * started, and idle.
 */
export function turnQueueContract(name: string, make: (concurrency: number) => Promise<TurnQueue>): void {
  describe(`TurnQueue contract: ${name}`, () => {
    it("runs one turn at a time per key, in order, and keys in parallel", async () => {
      const queue = await make(4);
      const g = gate();
      queue.start(g.handler);
      await queue.enqueue({ turnId: 1, key: a });
      await queue.enqueue({ turnId: 2, key: a });
      await queue.enqueue({ turnId: 3, key: b });
      await g.startedCount(2);
      expect(g.started.sort()).toEqual([1, 3]);
      expect(await queue.queued(a)).toBe(1);
      g.finish(1);
      await g.startedCount(3);
      expect(g.started[2]).toBe(2);
      g.finish(2);
      g.finish(3);
      await queue.idle();
      expect(await queue.queued(a)).toBe(0);
    });

    it("keeps to its concurrency and says when a turn waits for a slot", async () => {
      const queue = await make(1);
      const g = gate();
      const waits: Array<[number, number, number]> = [];
      queue.start(g.handler, {
        onWait: (turn, info) => void waits.push([turn.turnId, info.running, info.ahead]),
      });
      await queue.enqueue({ turnId: 1, key: a });
      await g.startedCount(1);
      await queue.enqueue({ turnId: 2, key: b });
      await queue.enqueue({ turnId: 3, key: c });
      expect(waits).toEqual([
        [2, 1, 0],
        [3, 1, 1],
      ]);
      expect(g.started).toEqual([1]);
      g.finish(1);
      await g.startedCount(2);
      expect(g.started).toEqual([1, 2]);
      g.finish(2);
      await g.startedCount(3);
      g.finish(3);
      await queue.idle();
    });

    it("removes turns that have not started (also one waiting for a slot); they never run", async () => {
      const queue = await make(1);
      const g = gate();
      queue.start(g.handler);
      await queue.enqueue({ turnId: 1, key: a });
      await g.startedCount(1);
      await queue.enqueue({ turnId: 2, key: a });
      await queue.enqueue({ turnId: 3, key: a });
      await queue.enqueue({ turnId: 4, key: b });
      await queue.enqueue({ turnId: 5, key: c });
      expect((await queue.removeQueued(a)).map((t) => t.turnId)).toEqual([2, 3]);
      expect(await queue.queued(b)).toBe(1);
      expect((await queue.removeQueued(b)).map((t) => t.turnId)).toEqual([4]);
      expect(await queue.queued(b)).toBe(0);
      expect((await queue.removeQueued()).map((t) => t.turnId)).toEqual([5]);
      g.finish(1);
      await queue.idle();
      expect(g.started).toEqual([1]);
    });

    it("is idle at once when nothing was queued, and again after work", async () => {
      const queue = await make(2);
      const g = gate();
      queue.start(g.handler);
      await queue.idle();
      await queue.enqueue({ turnId: 9, key: a });
      let idle = false;
      const waiting = queue.idle().then(() => {
        idle = true;
      });
      await g.startedCount(1);
      expect(idle).toBe(false);
      g.finish(9);
      await waiting;
      expect(idle).toBe(true);
    });
  });
}
