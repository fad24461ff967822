import type { Telegram } from "telegraf";
import { threadParam } from "../domain/topic-key.js";
import type { TurnRecord } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import type { Outbox } from "./outbox.js";
import type { Router } from "./router.js";

/** callback_data prefix of the Retry button under an interrupted turn: `r:<turn id>`. */
export const RETRY_CALLBACK_PREFIX = "r:";
/** Longest prompt preview in the message about an interrupted turn, characters. */
const PREVIEW_CHARS = 200;

/**
 * Tells each interrupted turn's topic that the bot stopped before it finished, quoting the prompt,
 * with a 🔁 Retry button; calls `notified` for each turn whose message went out. Errors are logged
 * per turn, never thrown.
 */
export async function announceInterrupted(
  deps: { telegram: Telegram; outbox: Outbox; logger: Logger },
  turns: TurnRecord[],
  notified: (turnId: number) => Promise<void>,
): Promise<void> {
  for (const turn of turns) {
    const preview =
      turn.prompt.length > PREVIEW_CHARS ? `${turn.prompt.slice(0, PREVIEW_CHARS)}…` : turn.prompt;
    const text = `⚠️ The bot stopped before it finished this prompt:\n«${preview}»`;
    try {
      await deps.outbox.send(
        turn.chatId,
        () =>
          deps.telegram.sendMessage(turn.chatId, text, {
            ...threadParam(turn.threadId),
            reply_markup: {
              inline_keyboard: [[{ text: "🔁 Retry", callback_data: `${RETRY_CALLBACK_PREFIX}${turn.id}` }]],
            },
          }),
        "interrupted turn",
      );
      await notified(turn.id);
    } catch (err) {
      deps.logger.error({ err, turnId: turn.id }, "could not tell a topic about its interrupted turn");
    }
  }
}

/** Registers the Retry button: the runner queues the prompt again, for the user whose prompt it was. */
export function registerRetryButton(router: Router, deps: { runner: Runner; logger: Logger }): void {
  router.action(RETRY_CALLBACK_PREFIX, async (ctx, data) => {
    const turnId = Number(data.slice(RETRY_CALLBACK_PREFIX.length));
    if (!ctx.callbackQuery.message)
      return ctx.answerCbQuery("This message is too old.", { show_alert: true });
    const refusal = await deps.runner.retry(turnId, ctx.from.id);
    if (refusal) return ctx.answerCbQuery(refusal, { show_alert: true });
    await ctx.answerCbQuery("Retrying");
    await ctx
      .editMessageReplyMarkup({ inline_keyboard: [] })
      .catch((err: unknown) => deps.logger.debug({ err }, "could not remove the Retry button"));
  });
}
