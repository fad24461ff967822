import { type TopicKey, topicKeyId } from "../domain/topic-key.js";

/**
 * The shard of a topic: FNV-1a (32 bit) of `<chatId>:<threadId>` modulo `shards`. Stable across
 * processes, machines and releases (it must be: every process of one database sends and takes
 * turns by it); the user is not part of it, so all users of one forum topic share a worker.
 */
export function shardOf(key: Pick<TopicKey, "chatId" | "threadId">, shards: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${key.chatId}:${key.threadId}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** The pg-boss queue of a shard: `tg-acp.turns.<shard>`. */
export function shardQueue(shard: number): string {
  return `tg-acp.turns.${shard}`;
}

/** The shard of a queue named by {@link shardQueue}; undefined for another name. */
export function queueShard(queue: string): number | undefined {
  const match = /^tg-acp\.turns\.(\d+)$/.exec(queue);
  return match ? Number(match[1]) : undefined;
}

/**
 * The pg-boss job id of a journalled turn: a fixed UUID per turn id (version 4 layout, the turn
 * id in the last 12 hex digits), so that sending a turn's job twice inserts it once (pg-boss
 * inserts with ON CONFLICT DO NOTHING).
 */
export function turnJobId(turnId: number): string {
  return `7a7c0000-0000-4000-8000-${turnId.toString(16).padStart(12, "0")}`;
}

/** The singleton key of a turn's job: its topic key (one turn at a time per key, in order). */
export function turnJobKey(key: TopicKey): string {
  return topicKeyId(key);
}

/** Counts per shard queue name -> counts per shard number (names that are no shard queue left out). */
export function byShard(counts: Map<string, number>): Map<number, number> {
  const shards = new Map<number, number>();
  for (const [queue, n] of counts) {
    const shard = queueShard(queue);
    if (shard !== undefined) shards.set(shard, n);
  }
  return shards;
}
