import { setTimeout as sleep } from "node:timers/promises";
import type { Telegraf } from "telegraf";
import type { Update } from "telegraf/types";
import { type Config, configSecrets, webhookUrl } from "../config.js";
import { StoreUnavailableError } from "../domain/errors.js";
import type { Store } from "../domain/store.js";
import type { Logger } from "../logger.js";
import { StartupError } from "../operator-error.js";
import { redactedMessage } from "../redact.js";

/** Update kinds the bot handles (Bot API setWebhook / getUpdates `allowed_updates`). */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/**
 * How Updates reach the bot (Bot API "Getting updates"):
 * - BOT_MODE=webhook: with PUBLIC_URL, `start` calls setWebhook (PUBLIC_URL + WEBHOOK_PATH, the
 *   secret token, `allowed_updates`, `max_connections`); without it, the webhook is registered by hand;
 * - BOT_MODE=polling: `start` calls deleteWebhook, then Telegraf long-polls getUpdates into the same
 *   handlers. When polling ends with an error (401, or 409 because another instance polls),
 *   `onFatal` gets a StartupError with one line.
 * `stop` ends polling (waiting until it really stopped). Secrets never reach error messages.
 */
export function createUpdateSource(deps: {
  telegraf: Telegraf;
  config: Config;
  logger: Logger;
  onFatal?: (err: StartupError) => void;
}) {
  const { telegraf, config, logger } = deps;
  const redact = (err: unknown) => redactedMessage(err, configSecrets(config));
  let polling: Promise<void> | undefined;

  return {
    /**
     * Registers the webhook or starts polling.
     *
     * @throws StartupError when Telegram refuses setWebhook or deleteWebhook.
     */
    async start(): Promise<void> {
      const url = webhookUrl(config);
      if (url !== undefined) {
        try {
          await telegraf.telegram.setWebhook(url, {
            secret_token: config.telegram.webhookSecret,
            allowed_updates: [...ALLOWED_UPDATES],
            max_connections: config.telegram.webhookMaxConnections,
          });
        } catch (err) {
          throw new StartupError(`Telegram setWebhook ${url} failed: ${redact(err)}`);
        }
        logger.info({ url }, "webhook registered");
      }
      if (config.telegram.mode !== "polling") return;
      try {
        await telegraf.telegram.deleteWebhook();
      } catch (err) {
        throw new StartupError(`Telegram deleteWebhook failed (BOT_MODE=polling): ${redact(err)}`);
      }
      // launch() calls deleteWebhook again, then resolves only when polling stops.
      polling = telegraf.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((err: unknown) => {
        const fatal = new StartupError(`Telegram long polling stopped: ${redact(err)}`);
        logger.fatal({ err }, fatal.message);
        deps.onFatal?.(fatal);
      });
    },

    /** Stops polling, if it runs; resolves once it has stopped. */
    async stop(): Promise<void> {
      const done = polling;
      polling = undefined;
      if (!done) return;
      // telegraf.stop() throws until launch() has passed its own deleteWebhook and begun polling.
      for (;;) {
        try {
          telegraf.stop("shutdown");
          break;
        } catch {
          const ended = await Promise.race([done.then(() => true), sleep(20).then(() => false)]);
          if (ended) break;
        }
      }
      await done;
    },
  };
}

/**
 * The webhook's dispatch: hands each Update to Telegraf once and resolves when it is taken in (the
 * handlers journal prompts before they return; commands and taps run on their own). The store's
 * update-id dedupe comes first (an Update Telegram sends again, even after a restart, is
 * acknowledged and not processed twice). When the store cannot write, the Update is forgotten
 * again and `{ retryLater }` makes the webhook answer 503, so Telegram sends it later.
 */
export function createUpdateDispatch(deps: {
  telegraf: Telegraf;
  store: Pick<Store, "firstSeen" | "forgetUpdate">;
  logger: Logger;
}) {
  return async (update: { update_id: number }): Promise<{ retryLater: string } | undefined> => {
    try {
      if (!(await deps.store.firstSeen(update.update_id))) {
        deps.logger.info({ update_id: update.update_id }, "update seen before; not processed again");
        return undefined;
      }
      // The webhook checked only update_id; Telegraf reads the rest (and ignores what it does not know).
      await deps.telegraf.handleUpdate(update as Update);
      return undefined;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      deps.store.forgetUpdate(update.update_id);
      return { retryLater: err.message };
    }
  };
}
