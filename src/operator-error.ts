/** Thrown at start-up for a problem the operator must fix (port taken, Telegram refuses the token...); one line. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Names of errors whose message is a one-line instruction to the operator (bad config, agent, database...). */
const OPERATOR_ERRORS = new Set([
  "ConfigError",
  "StartupError",
  "AgentCommandError",
  "DatabaseOpenError",
  "KiroclawReadError",
  "KiroclawImportError",
]);

/**
 * What to print for an error that ends a program: the message of an operator error (one line),
 * the stack of anything else (a bug).
 */
export function describeFatalError(err: unknown): string {
  const e = err as Error | undefined;
  if (e && OPERATOR_ERRORS.has(e.name)) return e.message;
  return e?.stack ?? String(err);
}
