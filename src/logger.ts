import pino from "pino";
import { prettyFactory } from "pino-pretty";
import { redact } from "./redact.js";

/** The app's structured logger (pino). */
export type Logger = pino.Logger;

/** Options of {@link createLogger}. */
export type LoggerOptions = {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  level: string;
  /** Strings replaced by `[REDACTED]` in every line (bot token, webhook secret); shorter than 8 chars: ignored. */
  secrets: readonly string[];
  /** "json" (default, one JSON object a line, for production) or "pretty" (pino-pretty, for development). */
  format?: "json" | "pretty";
  /** With format "pretty": ANSI colours (for a terminal). Default false. */
  colorize?: boolean;
  /** Where lines go; stdout (fd 1) by default. */
  destination?: pino.DestinationStream;
};

/**
 * Creates the logger. Every line is scrubbed of the given secrets before it is written, whatever
 * field or error message holds them (Telegraf's network errors carry the request URL, which contains
 * the token); in "pretty" format the scrubbed JSON line is then formatted synchronously by
 * pino-pretty's `prettyFactory`, so the same scrubbing covers both formats.
 */
export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? pino.destination(1);
  let destination = out;
  if (options.format === "pretty") {
    const format = prettyFactory({
      colorize: options.colorize ?? false,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service",
    });
    destination = { write: (line: string) => out.write(format(line)) };
  }
  return pino(
    {
      level: options.level,
      base: { service: "tg-acp" },
      hooks: {
        streamWrite: (line) => redact(line, options.secrets),
      },
    },
    destination,
  );
}
