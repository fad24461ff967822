import PQueue from "p-queue";
import { type TopicKey, topicKeyId } from "../domain/topic-key.js";
import type {
  QueuedTurn,
  TurnHandled,
  TurnHandler,
  TurnQueue,
  TurnQueueHooks,
} from "../domain/turn-queue.js";
import type { Logger } from "../logger.js";

/** Options of {@link createLocalTurnQueue}. */
export type LocalTurnQueueOptions = {
  /** At most this many turns are handled at once, across all keys (MAX_CONCURRENT_TURNS). */
  concurrency: number;
  logger: Logger;
};

type KeyQueue = {
  items: QueuedTurn[];
  /** The key's turn that waits for a slot, if any (still removable). */
  waiting: QueuedTurn | undefined;
};

/**
 * The in-process {@link TurnQueue}: one FIFO per topic key, worked through by one loop per key
 * (so a key's turns never overlap), and a shared pool of `concurrency` slots that the keys' next
 * turns take in the order they asked; a slot is given back when the handler resolves, while the
 * key waits for the handler's `after` (its delivery) before its next turn. A turn waiting for a slot still counts as queued: removing it
 * frees its place at once. Nothing here survives a restart; the turn journal does.
 */
export function createLocalTurnQueue(options: LocalTurnQueueOptions): TurnQueue {
  const keys = new Map<string, KeyQueue>();
  const slots = new PQueue({ concurrency: options.concurrency });
  /** Turns removed while they waited for a slot: skipped when the slot comes. */
  const removed = new Set<number>();
  let handler: TurnHandler | undefined;
  let hooks: TurnQueueHooks = {};
  let idleWaiters: Array<() => void> = [];

  const settleIdle = () => {
    if (keys.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  async function work(id: string, queue: KeyQueue, handle: TurnHandler): Promise<void> {
    for (;;) {
      const next = queue.items.shift();
      if (!next) {
        keys.delete(id);
        settleIdle();
        return;
      }
      if (slots.pending >= options.concurrency) {
        hooks.onWait?.(next, { running: slots.pending, ahead: slots.size });
      }
      queue.waiting = next;
      const handled = await slots.add(async (): Promise<TurnHandled> => {
        queue.waiting = undefined;
        if (removed.delete(next.turnId)) return undefined;
        try {
          return await handle(next);
        } catch (err) {
          options.logger.error({ err, topic: next.key, turnId: next.turnId }, "turn handler failed");
          return undefined;
        }
      });
      // The slot is free again; the key's next turn waits until this one is over for its topic.
      await handled?.after?.catch((err: unknown) =>
        options.logger.error({ err, topic: next.key, turnId: next.turnId }, "turn delivery failed"),
      );
    }
  }

  const removeFrom = (queue: KeyQueue): QueuedTurn[] => {
    const out = queue.items.splice(0);
    const waiting = queue.waiting;
    if (waiting && !removed.has(waiting.turnId)) {
      removed.add(waiting.turnId);
      out.unshift(waiting);
    }
    return out;
  };

  return {
    start(handle, given) {
      handler = handle;
      hooks = given ?? {};
    },

    async enqueue(turn) {
      const handle = handler;
      if (!handle) throw new Error("the turn queue was not started");
      const id = topicKeyId(turn.key);
      const existing = keys.get(id);
      if (existing) {
        existing.items.push(turn);
        return;
      }
      const queue: KeyQueue = { items: [turn], waiting: undefined };
      keys.set(id, queue);
      void work(id, queue, handle);
    },

    async removeQueued(key?: TopicKey) {
      if (key) {
        const queue = keys.get(topicKeyId(key));
        return queue ? removeFrom(queue) : [];
      }
      return [...keys.values()].flatMap(removeFrom);
    },

    async queued(key) {
      const queue = keys.get(topicKeyId(key));
      if (!queue) return 0;
      const waiting = queue.waiting && !removed.has(queue.waiting.turnId) ? 1 : 0;
      return queue.items.length + waiting;
    },

    idle() {
      if (keys.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
