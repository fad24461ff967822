/**
 * Why a node-postgres error means PostgreSQL cannot serve the store now, as one line: the server is
 * unreachable or went away (SQLSTATE class 08 "connection exception", 57P01-57P03 shutdown or
 * crash, a socket error), or out of resources (class 53: disk full, out of memory, too many
 * connections); undefined for any other error (a bug, a constraint). An error's `cause` counts
 * (Drizzle's DrizzleQueryError carries the node-postgres error there).
 */
export function unavailableReason(err: unknown): string | undefined {
  // Drizzle wraps the driver's error (DrizzleQueryError, the pg error as its cause).
  const cause = (err as { cause?: unknown } | null)?.cause;
  const wrapped = cause !== undefined && cause !== err ? unavailableReason(cause) : undefined;
  if (wrapped !== undefined) return wrapped;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : "";
  if (code.startsWith("08") || /^57P0[123]$/.test(code))
    return `PostgreSQL connection lost (${code}): ${message}`;
  if (code.startsWith("53")) return `PostgreSQL is out of resources (${code}): ${message}`;
  if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code))
    return `PostgreSQL cannot be reached (${code})`;
  if (/Connection terminated|connection timeout|Client has encountered a connection error/i.test(message))
    return `PostgreSQL connection lost: ${message}`;
  return undefined;
}
