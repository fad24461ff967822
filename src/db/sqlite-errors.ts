/**
 * Why a better-sqlite3 error means the database cannot be written now (SQLite result codes
 * SQLITE_FULL, SQLITE_IOERR and its extended codes, SQLITE_READONLY, SQLITE_CANTOPEN), as one line
 * naming the file; undefined for any other error (a bug, a constraint).
 */
export function unwritableReason(err: unknown, filePath: string): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "SQLITE_FULL") return `the disk of DATABASE_PATH ${filePath} is full`;
  if (code.startsWith("SQLITE_IOERR")) return `an I/O error (${code}) writing DATABASE_PATH ${filePath}`;
  if (code.startsWith("SQLITE_READONLY")) return `DATABASE_PATH ${filePath} is read-only (${code})`;
  if (code === "SQLITE_CANTOPEN") return `DATABASE_PATH ${filePath} cannot be opened for writing`;
  return undefined;
}
