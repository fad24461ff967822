import { randomBytes } from "node:crypto";
import type { RequestPermissionRequest, RequestPermissionResponse } from "@agentclientprotocol/sdk";
import type { Context, Telegram } from "telegraf";
import type { InlineKeyboardButton } from "telegraf/types";
import { formatDuration } from "../domain/duration.js";
import { toolLabel } from "../domain/permission.js";
import { threadIdOf } from "../domain/topic-key.js";
import type { PermissionTap } from "../domain/turn-control.js";
import type { Logger } from "../logger.js";
import type { Outbox } from "./outbox.js";
import { compactDiff, diffsOf, unifiedDiff } from "./tool-diff.js";

type Tapper = PermissionTap["from"];
type AnswerTap = (text: string, showAlert: boolean) => Promise<unknown>;

/** callback_data prefix of permission buttons: `p:<nonce>:<option index>` (≤ 64 bytes, Bot API). */
export const PERMISSION_CALLBACK_PREFIX = "p:";
/** The option index of the bot's own "Allow for this session" button. */
const FOR_SESSION = "s";
/** Longest diff shown in the prompt message, characters (the message's limit is 4096). */
const DIFF_CHARS = 2_500;

/**
 * The user's answer to a permission prompt: the ACP response, and `forSession` when they chose the
 * bot's own "Allow for this session" (the agent offered no allow_always; the response selects its
 * allow_once option, and the caller remembers the choice for the session).
 */
export type PermissionAnswer = RequestPermissionResponse & { forSession?: true };

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

type Pending = {
  ownerUserId: number;
  chatId: number;
  messageId: number;
  text: string;
  request: RequestPermissionRequest;
  settle: (response: PermissionAnswer, note: string) => void;
};

/** Where a prompt goes and who may answer it. */
export type PromptTarget = { chatId: number; messageThreadId: number | undefined; ownerUserId: number };

/**
 * session/request_permission as a message with the agent's options as inline buttons. Only the
 * key's user may answer; a tap by anyone else gets an alert. An unanswered prompt resolves as
 * `cancelled` after `timeoutMs` (and when its turn is cancelled); the message then says so and a
 * later tap gets "expired". Never blocks the webhook: prompts wait on promises, taps arrive as
 * separate callback_query updates.
 */
export type PermissionPrompts = ReturnType<typeof createPermissionPrompts>;

/** Creates the prompt broker; see {@link PermissionPrompts}. */
export function createPermissionPrompts(deps: {
  telegram: Telegram;
  outbox: Outbox;
  timeoutMs: number;
  /**
   * ROLE=web: hands a tap on a prompt this process did not post to the worker that did; resolves
   * true when that worker took it (and answered the tap).
   */
  relay?: (tap: PermissionTap) => Promise<boolean>;
  logger: Logger;
}) {
  const { telegram, outbox, logger } = deps;
  const pending = new Map<string, Pending>();

  const editQuietly = (chatId: number, messageId: number, html: string) =>
    outbox
      .send(
        chatId,
        () =>
          telegram.editMessageText(chatId, messageId, undefined, html, {
            parse_mode: "HTML",
            reply_markup: { inline_keyboard: [] },
          }),
        "permission prompt edit",
      )
      .catch((err: unknown) => logger.warn({ err }, "could not update a permission prompt"));

  return {
    /**
     * Posts the prompt and resolves with the user's choice, or `cancelled` on timeout or abort.
     *
     * @throws the Bot API error when the prompt cannot be posted (the turn then fails visibly).
     */
    async ask(
      target: PromptTarget,
      request: RequestPermissionRequest,
      signal: AbortSignal,
    ): Promise<PermissionAnswer> {
      const nonce = randomBytes(6).toString("base64url");
      const diffs = diffsOf(request.toolCall.content);
      const whole = diffs.length > 0 ? unifiedDiff(diffs) : "";
      const shown = whole === "" ? undefined : compactDiff(whole, DIFF_CHARS);
      const thread =
        target.messageThreadId === undefined ? {} : { message_thread_id: target.messageThreadId };
      if (shown?.cut) {
        // The whole change as a document before the prompt, so the decision can be made on all of it.
        await outbox.send(
          target.chatId,
          () =>
            telegram.sendDocument(
              target.chatId,
              { source: Buffer.from(whole, "utf8"), filename: "changes.diff" },
              {
                ...thread,
                caption: `The whole change (${diffs.map((d) => d.path).join(", ")}).`.slice(0, 1024),
              },
            ),
          "permission diff",
        );
      }
      const text = `🔐 The agent asks to use ${toolLabel(request)}.`;
      const html = `${escapeHtml(text)}${shown ? `\n<pre><code class="language-diff">${escapeHtml(shown.text)}</code></pre>` : ""}`;
      const keyboard: InlineKeyboardButton[][] = request.options.map((option, index) => [
        { text: option.name, callback_data: `${PERMISSION_CALLBACK_PREFIX}${nonce}:${index}` },
      ]);
      const offersAlways = request.options.some((o) => o.kind === "allow_always");
      if (!offersAlways && request.options.some((o) => o.kind === "allow_once")) {
        keyboard.push([
          {
            text: "Allow for this session",
            callback_data: `${PERMISSION_CALLBACK_PREFIX}${nonce}:${FOR_SESSION}`,
          },
        ]);
      }
      const message = await outbox.send(
        target.chatId,
        () =>
          telegram.sendMessage(target.chatId, html, {
            ...thread,
            parse_mode: "HTML",
            reply_markup: { inline_keyboard: keyboard },
          }),
        "permission prompt",
      );
      return new Promise<PermissionAnswer>((resolve) => {
        const finish = (response: PermissionAnswer, note: string) => {
          if (!pending.delete(nonce)) return;
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          resolve(response);
          void editQuietly(target.chatId, message.message_id, `${html}\n${escapeHtml(note)}`);
        };
        const onAbort = () => finish({ outcome: { outcome: "cancelled" } }, "⏹ Cancelled with the turn.");
        const timer = setTimeout(
          () =>
            finish(
              { outcome: { outcome: "cancelled" } },
              `⌛ No answer within ${formatDuration(deps.timeoutMs)}: cancelled.`,
            ),
          deps.timeoutMs,
        );
        timer.unref();
        pending.set(nonce, {
          ownerUserId: target.ownerUserId,
          chatId: target.chatId,
          messageId: message.message_id,
          text,
          request,
          settle: finish,
        });
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
    },

    /**
     * Handles a tap on a permission button (callback_query whose data starts with `p:`): the
     * prompt's own, or relayed to the worker that posted it; "expired" when nobody holds it.
     */
    async handleCallback(ctx: Context, data: string): Promise<void> {
      const from = ctx.from && {
        id: ctx.from.id,
        firstName: ctx.from.first_name,
        ...(ctx.from.username ? { username: ctx.from.username } : {}),
      };
      const answer: AnswerTap = (text, showAlert) => ctx.answerCbQuery(text, { show_alert: showAlert });
      if (from && (await takeTap(data, from, answer))) return;
      const message = ctx.callbackQuery?.message;
      if (from && message && ctx.callbackQuery && deps.relay) {
        const tap: PermissionTap = {
          callbackQueryId: ctx.callbackQuery.id,
          data,
          from,
          chatId: message.chat.id,
          threadId: threadIdOf("message_thread_id" in message ? message.message_thread_id : undefined),
        };
        if (await deps.relay(tap)) return;
      }
      await ctx.answerCbQuery("This request has expired.", { show_alert: true });
      if (message) {
        await ctx.telegram
          .editMessageReplyMarkup(message.chat.id, message.message_id, undefined, { inline_keyboard: [] })
          .catch((err: unknown) => logger.debug({ err }, "could not remove stale buttons"));
      }
    },

    /**
     * A tap another process received (ROLE=web relays it): handled, and answered with
     * answerCallbackQuery, when this process posted the prompt; false otherwise.
     */
    takeRelayed: (tap: PermissionTap): Promise<boolean> =>
      takeTap(tap.data, tap.from, (text, showAlert) =>
        telegram.answerCbQuery(tap.callbackQueryId, text, { show_alert: showAlert }),
      ),
  };

  /** Settles the prompt a tap answers, if this process holds it; false when it does not. */
  async function takeTap(data: string, from: Tapper, answer: AnswerTap): Promise<boolean> {
    const [nonce = "", index = ""] = data.slice(PERMISSION_CALLBACK_PREFIX.length).split(":");
    const prompt = pending.get(nonce);
    if (!prompt) return false;
    if (from.id !== prompt.ownerUserId) {
      await answer("Only the user whose prompt this is can answer it.", true);
      return true;
    }
    const forSession = index === FOR_SESSION;
    const option = forSession
      ? prompt.request.options.find((o) => o.kind === "allow_once")
      : prompt.request.options[Number(index)];
    if (!option) {
      await answer("Unknown option.", true);
      return true;
    }
    const who = from.username ? `@${from.username}` : from.firstName;
    const name = forSession ? "Allow for this session" : option.name;
    prompt.settle(
      {
        outcome: { outcome: "selected", optionId: option.optionId },
        ...(forSession ? { forSession: true as const } : {}),
      },
      `→ ${name} (${who})`,
    );
    await answer(name, false);
    return true;
  }
}
