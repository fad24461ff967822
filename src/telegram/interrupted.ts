import type { Telegram } from "telegraf";
import { tapperKeyOf, threadParam } from "../domain/topic-key.js";
import type { TurnRecord } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import type { Outbox } from "./outbox.js";
import type { Router } from "./router.js";

/** callback_data prefix of the Retry button under an interrupted turn: `r:<turn id>`. */
export const RETRY_CALLBACK_PREFIX = "r:";
/** Longest prompt preview in the message about an interrupted turn, characters. */
const PREVIEW_CHARS = 200;

type OfferDeps = { telegram: Telegram; outbox: Outbox; logger: Logger };

/**
 * What the message about a turn quotes of its prompt: the text, cut at {@link PREVIEW_CHARS}; a turn
 * that is only files (a caption-less voice note or photo) names them instead, `🎤 voice.ogg` for
 * audio and `📎 name` for the rest, so the quote is never empty.
 */
export function promptPreview(turn: Pick<TurnRecord, "prompt" | "files">): string {
  const text =
    turn.prompt.trim() !== ""
      ? turn.prompt
      : (turn.files ?? []).map((f) => `${f.audio ? "🎤" : "📎"} ${f.name}`).join(", ");
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

/**
 * Posts one message per turn into the turn's topic, quoting its prompt after `lead`, with one
 * button (`label`, callback data `<prefix><turn id>`); calls `done` for each that went out. Errors
 * are logged per turn, never thrown.
 */
async function offerPerTurn(
  deps: OfferDeps,
  turns: TurnRecord[],
  offer: { lead: string; label: string; prefix: string; what: string },
  done: (turnId: number) => Promise<void>,
): Promise<void> {
  for (const turn of turns) {
    const preview = promptPreview(turn);
    try {
      await deps.outbox.send(
        turn.chatId,
        () =>
          deps.telegram.sendMessage(turn.chatId, `${offer.lead}\n«${preview}»`, {
            ...threadParam(turn.threadId),
            reply_markup: {
              inline_keyboard: [[{ text: offer.label, callback_data: `${offer.prefix}${turn.id}` }]],
            },
          }),
        offer.what,
      );
      await done(turn.id);
    } catch (err) {
      deps.logger.error({ err, turnId: turn.id }, `could not post the ${offer.what} message`);
    }
  }
}

/**
 * Tells each interrupted turn's topic that the bot stopped before it finished, quoting the prompt,
 * with a 🔁 Retry button; calls `notified` for each turn whose message went out.
 */
export function announceInterrupted(
  deps: OfferDeps,
  turns: TurnRecord[],
  notified: (turnId: number) => Promise<void>,
): Promise<void> {
  return offerPerTurn(
    deps,
    turns,
    {
      lead: "⚠️ The bot stopped before it finished this prompt:",
      label: "🔁 Retry",
      prefix: RETRY_CALLBACK_PREFIX,
      what: "interrupted turn",
    },
    notified,
  );
}

/** callback_data prefix of the button under an answer a shutdown cut: `a:<turn id>`. */
export const ANSWER_CALLBACK_PREFIX = "a:";

/**
 * Offers each answer a shutdown cut before it was all posted, in its topic, with a 📄 button that
 * sends the whole answer as answer.md; calls `offered` for each offer that went out.
 */
export function announceCutAnswers(
  deps: OfferDeps,
  turns: TurnRecord[],
  offered: (turnId: number) => Promise<void>,
): Promise<void> {
  return offerPerTurn(
    deps,
    turns,
    {
      lead: "⚠️ The bot restarted before it finished posting the answer to:",
      label: "📄 Send the answer",
      prefix: ANSWER_CALLBACK_PREFIX,
      what: "cut answer",
    },
    offered,
  );
}

/** Registers the 📄 button: the whole answer as answer.md, for the user whose prompt it was. */
export function registerAnswerButton(
  router: Router,
  deps: { runner: Runner; outbox: Outbox; logger: Logger },
): void {
  router.action(ANSWER_CALLBACK_PREFIX, async (ctx, data) => {
    const message = ctx.callbackQuery.message;
    if (!message) return ctx.answerCbQuery("This message is too old.", { show_alert: true });
    const found = await deps.runner.answerOf(Number(data.slice(ANSWER_CALLBACK_PREFIX.length)), ctx.from.id);
    if ("refusal" in found) return ctx.answerCbQuery(found.refusal, { show_alert: true });
    await ctx.answerCbQuery("Sending the answer");
    const { key } = tapperKeyOf(message, ctx.from.id);
    await deps.outbox.send(
      key.chatId,
      () =>
        ctx.telegram.sendDocument(
          key.chatId,
          { source: Buffer.from(found.text, "utf8"), filename: "answer.md" },
          threadParam(key.threadId),
        ),
      "answer.md",
    );
  });
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
