import type { Store } from "../domain/store.js";
import type { Logger } from "../logger.js";

/** How often idle sessions are expired, ms. */
const SWEEP_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * SESSION_TTL_DAYS: removes sessions idle for more than `ttlDays` (with their journal and grants;
 * workspace files stay) now and then once a day. 0 keeps them for ever and starts nothing.
 *
 * @returns once the first sweep is done: stop, which ends the daily sweep.
 * @throws the store's error when the first sweep fails (later failures are logged).
 */
export async function startSessionExpiry(store: Store, ttlDays: number, logger: Logger): Promise<() => void> {
  if (ttlDays <= 0) return () => {};
  const sweep = async () => {
    const removed = await store.expireIdle(ttlDays);
    if (removed.length > 0) logger.info({ removed: removed.length }, "expired idle sessions");
  };
  await sweep();
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => logger.error({ err }, "could not expire idle sessions"));
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
