import { sql } from "drizzle-orm";
import type { Db } from "./database.js";
import { seenUpdates } from "./schema.js";

/**
 * The update_ids already handled, kept in the database so a webhook call Telegram re-sends (after a
 * slow answer, or across a restart) is acknowledged and not processed again. Bounded: only the
 * newest `window` ids are kept.
 */
export type UpdateLog = ReturnType<typeof createUpdateLog>;

/** Creates the log; `window` is how many update ids it remembers. */
export function createUpdateLog(db: Db, window = 10_000, now: () => Date = () => new Date()) {
  let sincePrune = 0;
  return {
    /** Records `updateId`; true the first time it is seen, false for a repeat. */
    firstSeen(updateId: number): boolean {
      const inserted =
        db.insert(seenUpdates).values({ updateId, seenAt: now().toISOString() }).onConflictDoNothing().run()
          .changes === 1;
      if (inserted && ++sincePrune >= 100) {
        sincePrune = 0;
        db.run(
          sql`DELETE FROM ${seenUpdates} WHERE ${seenUpdates.updateId} NOT IN (SELECT ${seenUpdates.updateId} FROM ${seenUpdates} ORDER BY ${seenUpdates.updateId} DESC LIMIT ${window})`,
        );
      }
      return inserted;
    },
  };
}
