import Database from "better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { MIGRATIONS_FOLDER } from "./database.js";

/** How an existing database file compares with the migrations in drizzle/. */
export type MigrationStatus = {
  /** Migrations shipped in drizzle/. */
  shipped: number;
  /** Shipped migrations the database has not applied (by drizzle's rule: newer than its last one). */
  pending: number;
  /** Applied migrations (by hash) that drizzle/ does not ship: a newer or different tg-acp used the file. */
  unknown: number;
  /** Rows of the sessions table; undefined when it does not exist yet. */
  sessions: number | undefined;
};

/**
 * Reads, without changing anything, which of drizzle/'s migrations the SQLite file at `filePath` has
 * applied (drizzle-orm's `__drizzle_migrations` table, compared as drizzle's migrator does: by
 * created_at against each migration's folderMillis) and how many sessions it holds.
 *
 * @throws the better-sqlite3 error when the file is missing or cannot be opened read-only.
 */
export function readMigrationStatus(filePath: string): MigrationStatus {
  const shipped = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const sqlite = new Database(filePath, { readonly: true, fileMustExist: true });
  try {
    const hasTable = (name: string) =>
      sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name) !== undefined;
    const applied = hasTable("__drizzle_migrations")
      ? (sqlite.prepare("select hash, created_at as createdAt from __drizzle_migrations").all() as Array<{
          hash: string;
          createdAt: number;
        }>)
      : [];
    const last = Math.max(-Infinity, ...applied.map((m) => Number(m.createdAt)));
    const shippedHashes = new Set(shipped.map((m) => m.hash));
    const sessions = hasTable("sessions")
      ? (sqlite.prepare("select count(*) as n from sessions").get() as { n: number }).n
      : undefined;
    return {
      shipped: shipped.length,
      pending: shipped.filter((m) => m.folderMillis > last).length,
      unknown: applied.filter((m) => !shippedHashes.has(m.hash)).length,
      sessions,
    };
  } finally {
    sqlite.close();
  }
}
