/** Secrets shorter than this are not scrubbed (they would match ordinary text). */
const MIN_SECRET_LENGTH = 8;

/**
 * `text` with every occurrence of each secret (bot token, webhook secret) replaced by `[REDACTED]`.
 * Secrets shorter than 8 characters are ignored.
 */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH)
    .reduce((out, secret) => out.replaceAll(secret, "[REDACTED]"), text);
}

/** An error's message (or the value as a string) with the secrets redacted; see {@link redact}. */
export function redactedMessage(err: unknown, secrets: readonly string[]): string {
  return redact(err instanceof Error ? err.message : String(err), secrets);
}
