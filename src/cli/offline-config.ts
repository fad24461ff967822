import { type Config, createConfig } from "../config.js";

/** Stands in for the Telegram settings, which the tools that never talk to Telegram do not use. */
const UNUSED_TELEGRAM = {
  TELEGRAM_BOT_TOKEN: "1:unused-offline-0000000000000000",
  TELEGRAM_WEBHOOK_SECRET: "unused-offline",
};

/**
 * The bot's config for a command-line tool that never calls Telegram (`chat`, `import-kiroclaw`): the
 * Telegram variables may be missing.
 *
 * @throws ConfigError like the bot's start-up, for any other setting.
 */
export function createOfflineConfig(env: NodeJS.ProcessEnv, cwd: string): Config {
  return createConfig(
    {
      ...env,
      TELEGRAM_BOT_TOKEN: env.TELEGRAM_BOT_TOKEN || UNUSED_TELEGRAM.TELEGRAM_BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: env.TELEGRAM_WEBHOOK_SECRET || UNUSED_TELEGRAM.TELEGRAM_WEBHOOK_SECRET,
    },
    cwd,
  );
}

/**
 * A command-line integer (a Telegram chat, thread or user id: up to 16 digits, optionally negative).
 *
 * @throws Error `<name> is required` or `<name> must be an integer, not "<value>"`.
 */
export function integerArg(name: string, value: string | undefined): number {
  if (value === undefined) throw new Error(`${name} is required`);
  if (!/^-?\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new Error(`${name} must be an integer, not "${value}"`);
  }
  return Number(value);
}

/**
 * `args` with a negative number after one of the `idOptions` joined to it (`--chat-id -100123` ->
 * `--chat-id=-100123`): node's parseArgs takes `-100123` for an option, and group and supergroup chat
 * ids are negative.
 */
export function joinNegativeIds(args: readonly string[], idOptions: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if (idOptions.includes(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}
