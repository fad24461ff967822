import { randomBytes } from "node:crypto";
import type { Context, Telegram } from "telegraf";
import { formatDuration } from "../domain/duration.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Outbox } from "./outbox.js";
import { postInTopic } from "./topic-post.js";

/** callback_data prefix of ask_user buttons: `u:<nonce>:<option index>` (≤ 64 bytes, Bot API). */
export const QUESTION_CALLBACK_PREFIX = "u:";

type Pending = {
  ownerUserId: number;
  options: string[];
  settle: (answer: string | undefined, note: string) => void;
};

/**
 * The MCP ask_user tool's questions: a message in the topic with one button per option. Only the
 * key's user may answer (anyone else gets an alert, as with permission buttons); an unanswered
 * question resolves with undefined after `timeoutMs` or when `signal` aborts, and its message then
 * says so.
 */
export type QuestionPrompts = ReturnType<typeof createQuestionPrompts>;

/** Creates the question broker; see {@link QuestionPrompts}. */
export function createQuestionPrompts(deps: {
  telegram: Telegram;
  outbox: Outbox;
  timeoutMs: number;
  logger: Logger;
}) {
  const pending = new Map<string, Pending>();
  return {
    /**
     * Posts the question and resolves with the chosen option, or undefined when nobody answered.
     *
     * @throws the Bot API error when the question cannot be posted.
     */
    async ask(
      key: TopicKey,
      question: string,
      options: string[],
      signal: AbortSignal,
    ): Promise<string | undefined> {
      const nonce = randomBytes(6).toString("base64url");
      const text = `❓ ${question}`;
      const messageId = await postInTopic(
        deps,
        key,
        text,
        "question",
        options.map((option, index) => [
          { text: option.slice(0, 64), callback_data: `${QUESTION_CALLBACK_PREFIX}${nonce}:${index}` },
        ]),
      );
      return new Promise<string | undefined>((resolve) => {
        const finish = (answer: string | undefined, note: string) => {
          if (!pending.delete(nonce)) return;
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(answer);
          void deps.outbox
            .send(
              key.chatId,
              () =>
                deps.telegram.editMessageText(key.chatId, messageId, undefined, `${text}\n${note}`, {
                  reply_markup: { inline_keyboard: [] },
                }),
              "question edit",
            )
            .catch((err: unknown) => deps.logger.warn({ err }, "could not update a question"));
        };
        const onAbort = () => finish(undefined, "⏹ The agent stopped waiting.");
        const timer = setTimeout(
          () => finish(undefined, `⌛ No answer within ${formatDuration(deps.timeoutMs)}.`),
          deps.timeoutMs,
        );
        timer.unref();
        pending.set(nonce, { ownerUserId: key.userId, options, settle: finish });
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
    },

    /** Handles a tap on a question button (callback_query whose data starts with `u:`). */
    async handleCallback(ctx: Context, data: string): Promise<void> {
      const [nonce = "", index = ""] = data.slice(QUESTION_CALLBACK_PREFIX.length).split(":");
      const question = pending.get(nonce);
      if (!question) {
        await ctx.answerCbQuery("This question has expired.", { show_alert: true });
        return;
      }
      if (ctx.from?.id !== question.ownerUserId) {
        await ctx.answerCbQuery("Only the user whose topic this is can answer it.", { show_alert: true });
        return;
      }
      const option = question.options[Number(index)];
      if (option === undefined) {
        await ctx.answerCbQuery("Unknown option.", { show_alert: true });
        return;
      }
      question.settle(option, `→ ${option}`);
      await ctx.answerCbQuery(option);
    },
  };
}
