import type { StoreHealth } from "../domain/store.js";
import type { Logger } from "../logger.js";

/**
 * A store's write health: turned not ok by the first write that cannot be done (logged once, at
 * error, with the reason), ok again by the next write that works (logged once). Listeners hear of
 * every change.
 */
export function createStoreHealth(logger: Logger) {
  let health: StoreHealth = { ok: true };
  const listeners = new Set<(health: StoreHealth) => void>();
  const change = (next: StoreHealth) => {
    health = next;
    for (const listener of listeners) listener(next);
  };
  return {
    current: (): StoreHealth => health,
    /** A write failed for `reason` (one line). */
    failed(reason: string): void {
      if (!health.ok && health.reason === reason) return;
      logger.error({ reason }, "the database cannot be written; webhook calls get 503 until it can");
      change({ ok: false, reason, since: Date.now() });
    },
    /** A write worked. */
    worked(): void {
      if (health.ok) return;
      logger.info({ downMs: Date.now() - health.since }, "the database can be written again");
      change({ ok: true });
    },
    onChange(listener: (health: StoreHealth) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A store's health; see {@link createStoreHealth}. */
export type StoreHealthTracker = ReturnType<typeof createStoreHealth>;
