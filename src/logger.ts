import pino from "pino";

/** The app's structured logger (pino). */
export type Logger = pino.Logger;

/**
 * Creates a JSON logger that writes to `destination` (stdout by default). Every line is scrubbed of
 * the given secrets (bot token, webhook secret) before it is written, whatever field or error
 * message holds them: Telegraf's network errors carry the request URL, which contains the token.
 */
export function createLogger(options: {
  level: string;
  secrets: readonly string[];
  destination?: pino.DestinationStream;
}): Logger {
  const secrets = options.secrets.filter((s) => s.length >= 8);
  return pino(
    {
      level: options.level,
      base: { service: "tg-acp" },
      hooks: {
        streamWrite: (line) => secrets.reduce((out, secret) => out.replaceAll(secret, "[REDACTED]"), line),
      },
    },
    options.destination ?? pino.destination(1),
  );
}
