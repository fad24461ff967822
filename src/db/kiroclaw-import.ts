import path from "node:path";
import { and, eq } from "drizzle-orm";
import type { TopicKey } from "../domain/topic-key.js";
import type { OpenDatabase } from "./database.js";
import type { KiroclawSession } from "./kiroclaw-reader.js";
import { sessions } from "./schema.js";

/** Where the imported rows go: the chat they belonged to, and where their workspaces are now. */
export type KiroclawImportOptions = {
  /** The Telegram chat id of kiroclaw's group (its rows carry none). */
  chatId: number;
  /**
   * When set, each workspace path becomes `<workspaceRoot>/<user_id>/<thread_id>` (kiroclaw's layout
   * under its WORKSPACE_BASE_PATH), for workspaces copied or mounted elsewhere; else kept as stored.
   */
  workspaceRoot?: string | undefined;
};

/** A kiroclaw row whose key already has a different row here (left as it is). */
export type KiroclawConflict = { key: TopicKey; sessionId: string; existingSessionId: string | null };

/** What an import did: rows inserted, rows already here as imported (same session id), conflicts. */
export type KiroclawImportResult = { imported: number; skipped: number; conflicting: KiroclawConflict[] };

/** Thrown for a row that cannot be imported as it is (an unreadable timestamp); nothing is imported. */
export class KiroclawImportError extends Error {
  override name = "KiroclawImportError";
}

/**
 * Copies kiroclaw `rows` into the `sessions` table under `options.chatId`, keeping session ids, models
 * and timestamps (normalised to ISO 8601 UTC; one without an offset is taken as UTC). A key that
 * already has a row is never overwritten: the same session id counts as skipped (so a second run
 * imports nothing), another one (or none) as conflicting. All rows go in one transaction.
 *
 * @throws KiroclawImportError when a row's timestamp cannot be read (the transaction is rolled back).
 */
export function importKiroclawSessions(
  database: OpenDatabase,
  rows: readonly KiroclawSession[],
  options: KiroclawImportOptions,
): KiroclawImportResult {
  const { db } = database;
  const result: KiroclawImportResult = { imported: 0, skipped: 0, conflicting: [] };
  database.sqlite.transaction(() => {
    for (const row of rows) {
      const key: TopicKey = { chatId: options.chatId, threadId: row.threadId, userId: row.userId };
      const existing = db
        .select({ sessionId: sessions.sessionId })
        .from(sessions)
        .where(
          and(
            eq(sessions.chatId, key.chatId),
            eq(sessions.threadId, key.threadId),
            eq(sessions.userId, key.userId),
          ),
        )
        .get();
      if (existing?.sessionId === row.sessionId) {
        result.skipped += 1;
        continue;
      }
      if (existing) {
        result.conflicting.push({ key, sessionId: row.sessionId, existingSessionId: existing.sessionId });
        continue;
      }
      db.insert(sessions)
        .values({
          ...key,
          sessionId: row.sessionId,
          workspacePath: options.workspaceRoot
            ? path.resolve(options.workspaceRoot, String(row.userId), String(row.threadId))
            : row.workspacePath,
          model: row.model,
          createdAt: utcTimestamp(row.createdAt, row),
          updatedAt: utcTimestamp(row.updatedAt, row),
        })
        .run();
      result.imported += 1;
    }
  })();
  return result;
}

/** ISO 8601 `text` as `YYYY-MM-DDTHH:MM:SS.sssZ`, the form the bot writes (and compares for SESSION_TTL_DAYS). */
function utcTimestamp(text: string, row: KiroclawSession): string {
  const hasOffset = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text.trim());
  const ms = Date.parse(hasOffset ? text.trim() : `${text.trim().replace(" ", "T")}Z`);
  if (Number.isNaN(ms)) {
    throw new KiroclawImportError(
      `the row of user ${row.userId}, thread ${row.threadId} has an unreadable timestamp "${text}"; nothing was imported`,
    );
  }
  return new Date(ms).toISOString();
}
