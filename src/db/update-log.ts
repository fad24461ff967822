import { desc } from "drizzle-orm";
import type { OpenDatabase } from "./database.js";
import { seenUpdates } from "./schema.js";

/** How long new update ids wait before they are written, in one transaction, ms. */
const FLUSH_DELAY_MS = 50;

/**
 * The update_ids already handled, so a webhook call Telegram sends again (after a slow answer, or
 * across a restart) is acknowledged and not processed twice. The check runs in memory, on the hot
 * path of every webhook call; the ids are written to the database in batches a few ms later (one
 * transaction per batch) and read back at start-up. Bounded: only the newest `window` ids are kept.
 * An id acknowledged in the last ~50 ms before a crash may be forgotten, which is harmless:
 * Telegram re-sends only updates it got no 200 for. A batch that cannot be written (disk full) is
 * kept and written with the next one; `onWriteError` hears of the failure.
 */
export type UpdateLog = ReturnType<typeof createUpdateLog>;

/** Creates the log over the app's database; `window` is how many update ids it remembers. */
export function createUpdateLog(
  database: OpenDatabase,
  window = 10_000,
  now: () => Date = () => new Date(),
  onWriteError: (err: unknown) => void = () => {},
) {
  const { db, sqlite } = database;
  const recent = new Set<number>();
  // A ring of the ids in `recent`, oldest first from `next`: evicting through it is O(1), where
  // taking a Set's first value after many deletes walks over their holes.
  const ring: Array<number | undefined> = new Array(window);
  let next = 0;
  const remember = (updateId: number) => {
    const evicted = ring[next];
    if (evicted !== undefined) recent.delete(evicted);
    ring[next] = updateId;
    next = (next + 1) % window;
    recent.add(updateId);
  };
  const stored = db
    .select({ updateId: seenUpdates.updateId })
    .from(seenUpdates)
    .orderBy(desc(seenUpdates.updateId))
    .limit(window)
    .all();
  for (const row of stored.reverse()) remember(row.updateId);
  let pending: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const insert = sqlite.prepare("INSERT OR IGNORE INTO seen_updates (update_id, seen_at) VALUES (?, ?)");
  const prune = sqlite.prepare(
    "DELETE FROM seen_updates WHERE update_id NOT IN (SELECT update_id FROM seen_updates ORDER BY update_id DESC LIMIT ?)",
  );
  let sincePrune = 0;
  const writeBatch = sqlite.transaction((ids: number[], at: string) => {
    for (const id of ids) insert.run(id, at);
    // Pruning sorts the table: do it once the table has outgrown the window by a tenth.
    sincePrune += ids.length;
    if (sincePrune >= Math.max(1, Math.floor(window / 10))) {
      sincePrune = 0;
      prune.run(window);
    }
  });

  /**
   * Writes the ids not written yet. A failed write keeps them for the next flush.
   *
   * @throws the database's error when the batch cannot be written.
   */
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const ids = pending;
    pending = [];
    try {
      writeBatch(ids, now().toISOString());
    } catch (err) {
      pending = ids.concat(pending);
      throw err;
    }
  };
  const flushLater = () => {
    try {
      flush();
    } catch (err) {
      // From a timer: never thrown (it would end the process); the store hears of it and retries.
      onWriteError(err);
    }
  };

  return {
    /** Records `updateId`; true the first time it is seen, false for a repeat. */
    firstSeen(updateId: number): boolean {
      if (recent.has(updateId)) return false;
      remember(updateId);
      pending.push(updateId);
      if (!timer) {
        timer = setTimeout(flushLater, FLUSH_DELAY_MS);
        timer.unref();
      }
      return true;
    },

    /** Forgets `updateId` (its intake failed): the next delivery of it counts as the first. */
    forget(updateId: number): void {
      recent.delete(updateId);
      pending = pending.filter((id) => id !== updateId);
    },

    /** Writes the ids not written yet (before the database closes, or to probe the disk). */
    flush,
  };
}
