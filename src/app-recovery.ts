import type { Telegram } from "telegraf";
import { StoreUnavailableError } from "./domain/errors.js";
import type { Store } from "./domain/store.js";
import type { Logger } from "./logger.js";
import { startSessionExpiry } from "./runner/session-expiry.js";
import { announceCutAnswers, announceInterrupted } from "./telegram/interrupted.js";
import type { Outbox } from "./telegram/outbox.js";

type Tell = { telegram: Telegram; outbox: Outbox; logger: Logger };

/**
 * ROLE=all at start-up: tells the topics of turns a crash (or the last shutdown) interrupted, with a
 * Retry button, and offers the answers a shutdown cut. On a database that cannot be written (disk
 * full) the bot still starts, answering 503, and does this once it can write again.
 */
export async function recoverAtStart(store: Store, tell: Tell): Promise<void> {
  const recover = async () => {
    await announceInterrupted(tell, await store.recoverInterrupted(), (id) =>
      store.markInterruptNotified(id),
    );
    await announceCutAnswers(tell, await store.cutAnswers(), (id) => store.markDelivery(id, "offered"));
  };
  await recover().catch((err: unknown) => {
    if (!(err instanceof StoreUnavailableError)) throw err;
    const stopWaiting = store.onHealthChange((health) => {
      if (!health.ok) return;
      stopWaiting();
      recover().catch((later: unknown) =>
        tell.logger.error({ err: later }, "could not recover interrupted turns"),
      );
    });
  });
}

/**
 * ROLE=worker: tells the topic of one turn journalled as interrupted (by this worker's stop, or as
 * the turn of a dead worker whose shard it took), with the Retry button, unless it was told already.
 */
export function tellInterrupted(store: Store, tell: Tell): (turnId: number) => Promise<void> {
  return async (turnId) => {
    const turn = await store.turn(turnId);
    if (turn?.state !== "interrupted" || turn.interruptNotified) return;
    await announceInterrupted(tell, [turn], (id) => store.markInterruptNotified(id));
  };
}

/**
 * Starts SESSION_TTL_DAYS expiry (startSessionExpiry); on a database that cannot be written now it
 * warns and expires nothing until the next start. Returns the stop.
 */
export async function startExpiry(store: Store, ttlDays: number, logger: Logger): Promise<() => void> {
  return startSessionExpiry(store, ttlDays, logger).catch((err: unknown) => {
    if (!(err instanceof StoreUnavailableError)) throw err;
    logger.warn({ err }, "idle sessions not expired at start-up: the database cannot be written");
    return () => {};
  });
}
