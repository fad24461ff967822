import { PgBoss } from "pg-boss";
import type { Logger } from "../logger.js";
import { listenChannel } from "./pg-listener.js";
import { shardQueue } from "./shard.js";

/** The NOTIFY channel that wakes the workers when a turn is sent; the payload is the shard. */
export const TURN_CHANNEL = "tg_acp_turns";

/** Options of {@link startTurnBoss}. */
export type TurnBossOptions = {
  url: string;
  shards: number;
  /** How long a turn's job may stay active before pg-boss gives up on it, s (above TURN_TIMEOUT_MS). */
  expireInSeconds: number;
  /** Connections of pg-boss's own pool; default 4. */
  poolSize?: number;
  logger: Logger;
};

/**
 * Starts pg-boss 12 on DATABASE_URL (its schema `pgboss`, installed or migrated by pg-boss under
 * its advisory lock; no cron, no LISTEN of its own) and creates the turn queue of every shard:
 * policy `key_strict_fifo` (one job at a time per singleton key, in creation order, enforced by a
 * unique index; a key whose job is active, in retry or failed holds back its later jobs, and
 * nothing else), retries 3 (a retried turn job is never run again: see onOrphan), expiry above the
 * longest turn, and no pg-boss heartbeat (a dead worker is found by its shard lease instead).
 * createQueue does nothing for a queue that exists.
 *
 * @throws the pg-boss or node-postgres error when the database cannot be reached or migrated.
 */
export async function startTurnBoss(options: TurnBossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    application_name: "tg-acp pg-boss",
    schedule: false,
  });
  boss.on("error", (err: unknown) => options.logger.warn({ err }, "pg-boss error"));
  await boss.start();
  for (let shard = 0; shard < options.shards; shard++) {
    await boss.createQueue(shardQueue(shard), {
      policy: "key_strict_fifo",
      retryLimit: 3,
      expireInSeconds: options.expireInSeconds,
      deleteAfterSeconds: 86_400,
    });
  }
  return boss;
}

/**
 * Listens on {@link TURN_CHANNEL} with a connection of its own and calls `onShard` with each
 * notification's shard; reconnects after a lost connection (every `retryMs`, default 1000) and
 * calls `onShard(undefined)` then, since notifications sent meanwhile are gone. Returns `close`.
 */
export function listenForTurns(
  url: string,
  onShard: (shard: number | undefined) => void,
  logger: Logger,
  retryMs = 1000,
): { close(): Promise<void> } {
  return listenChannel(
    url,
    TURN_CHANNEL,
    { onPayload: (payload) => onShard(Number(payload)), onConnected: () => onShard(undefined) },
    logger,
    retryMs,
  );
}
