import type { TopicKey } from "./topic-key.js";

/** A journalled turn waiting for its agent: the journal id and its topic key. */
export type QueuedTurn = { turnId: number; key: TopicKey };

/**
 * What a handler hands back when its turn's agent is done: `after` settles when the turn is over for
 * its topic too (its answer delivered). The slot is free as soon as the handler resolves; the key's
 * next turn waits for `after`.
 */
export type TurnHandled = { after?: Promise<void> } | undefined | void;

/** Runs one turn; resolves when the turn no longer needs its slot (its outcome is the handler's business). */
export type TurnHandler = (turn: QueuedTurn) => Promise<TurnHandled>;

/** What a queue may tell its user besides handing out turns. */
export type TurnQueueHooks = {
  /** A key's next turn has to wait for a free slot: `running` turns hold them, `ahead` wait before it. */
  onWait?: (turn: QueuedTurn, info: { running: number; ahead: number }) => void;
};

/**
 * The order in which turns run: per topic key one at a time, in the order they were enqueued
 * (never two agent processes on one session); different keys in parallel, up to the queue's
 * concurrency. A slot is held while the handler runs (the agent); the key stays busy until the
 * handler's `after` settles (the delivery). The in-process queue is the one implementation today.
 */
export interface TurnQueue {
  /** Starts handing turns to `handler`. Called once, before the first enqueue. */
  start(handler: TurnHandler, hooks?: TurnQueueHooks): void;
  /** Queues a turn behind the key's running and queued turns. */
  enqueue(turn: QueuedTurn): Promise<void>;
  /**
   * Removes the turns that have not been handed to the handler yet: the key's, or every key's when
   * `key` is undefined. Returns them in queue order.
   */
  removeQueued(key?: TopicKey): Promise<QueuedTurn[]>;
  /** How many of the key's turns wait (not counting one being handled). */
  queued(key: TopicKey): Promise<number>;
  /** Resolves once no turn is queued or being handled. */
  idle(): Promise<void>;
}
