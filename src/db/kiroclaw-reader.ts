import Database from "better-sqlite3";

/**
 * One row of kiroclaw's `sessions` table (the Python bot tg-acp comes from; its `tg-acp.db`):
 * `PRIMARY KEY (user_id, thread_id)`, no chat id; `model` defaults to 'auto'; timestamps are ISO 8601
 * text. Column names as in its schema (seed "Domain Entities — Unit 2: Session Persistence").
 */
export type KiroclawSession = {
  userId: number;
  threadId: number;
  sessionId: string;
  workspacePath: string;
  model: string;
  createdAt: string;
  updatedAt: string;
};

/** Thrown when the kiroclaw database cannot be read; the message is one line for the operator. */
export class KiroclawReadError extends Error {
  override name = "KiroclawReadError";
}

const COLUMNS = ["user_id", "thread_id", "session_id", "workspace_path", "model", "created_at", "updated_at"];

/**
 * Reads every row of the `sessions` table of kiroclaw's SQLite file at `file`, opened read-only (the
 * file is never changed), ordered by (user_id, thread_id).
 *
 * @throws KiroclawReadError when the file is missing or not SQLite, or has no `sessions` table with
 *   kiroclaw's columns.
 */
export function readKiroclawSessions(file: string): KiroclawSession[] {
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new KiroclawReadError(`--from ${file} cannot be opened: ${(err as Error).message}`);
  }
  try {
    const present = new Set(
      (sqlite.pragma("table_info(sessions)") as { name: string }[]).map((column) => column.name),
    );
    const missing = COLUMNS.filter((column) => !present.has(column));
    if (present.size === 0) throw new KiroclawReadError(`--from ${file} has no sessions table`);
    if (missing.length > 0) {
      throw new KiroclawReadError(
        `--from ${file}: its sessions table lacks ${missing.join(", ")} (not a kiroclaw tg-acp.db?)`,
      );
    }
    return sqlite
      .prepare(
        `select user_id as userId, thread_id as threadId, session_id as sessionId,
           workspace_path as workspacePath, model, created_at as createdAt, updated_at as updatedAt
         from sessions order by user_id, thread_id`,
      )
      .all() as KiroclawSession[];
  } catch (err) {
    if (err instanceof KiroclawReadError) throw err;
    throw new KiroclawReadError(`--from ${file} cannot be read: ${(err as Error).message}`);
  } finally {
    sqlite.close();
  }
}
