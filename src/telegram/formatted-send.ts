import type { Telegram } from "telegraf";
import { threadParam } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Page } from "./markdown.js";
import { botApiDescription, type Outbox } from "./outbox.js";

/** Whether the Bot API server answers sendMessageDraft (Bot API 9.3+); shared by all renderers. */
export type DraftSupport = { available: boolean };

/** A message the bot sent and may edit: its id (undefined until sent) and the HTML it shows. */
export type Shown = { id: number | undefined; shown: string; lastEditAt: number };

const NO_PREVIEW = { link_preview_options: { is_disabled: true } };

/**
 * Sends formatted text into one chat and forum topic through the chat's outbox:
 * - `post`: sendMessage, or editMessageText of a message already sent, as Telegram HTML (Bot API
 *   "HTML style"); when Telegram "can't parse entities", the same text goes again as plain text;
 *   "message is not modified" counts as done;
 * - `draft`: sendMessageDraft (Bot API 9.3+, private chats; not in Telegraf's types, so through
 *   callApi), with the same plain-text fallback. When the server refuses drafts, `drafts.available`
 *   turns false for every renderer and streams use send + edit instead.
 */
export function createFormattedSender(deps: {
  telegram: Telegram;
  outbox: Outbox;
  chatId: number;
  threadId: number;
  drafts: DraftSupport;
  logger: Logger;
}) {
  const { telegram, outbox, chatId, logger } = deps;
  const thread = threadParam(deps.threadId);

  return {
    /**
     * Sends `page` as a new message (target undefined or unsent) or edits `target` to show it.
     *
     * @returns the message id.
     * @throws the Bot API error (after the outbox's retries) other than the two handled above.
     */
    async post(target: Shown | undefined, page: Page, label: string): Promise<number | undefined> {
      const attempt = async (asHtml: boolean) => {
        const text = asHtml ? page.html : page.plain;
        const format = asHtml ? { parse_mode: "HTML" as const } : {};
        if (target?.id === undefined) {
          const sent = await outbox.send(
            chatId,
            () => telegram.sendMessage(chatId, text, { ...thread, ...NO_PREVIEW, ...format }),
            label,
          );
          return sent.message_id;
        }
        const id = target.id;
        await outbox.send(
          chatId,
          () => telegram.editMessageText(chatId, id, undefined, text, { ...NO_PREVIEW, ...format }),
          label,
        );
        return id;
      };
      try {
        return await attempt(page.html !== page.plain);
      } catch (err) {
        const description = botApiDescription(err);
        if (/message is not modified/i.test(description)) return target?.id;
        if (/can't parse entities/i.test(description)) {
          logger.warn({ chatId, description }, "Telegram could not parse the HTML; sending plain text");
          return attempt(false);
        }
        throw err;
      }
    },

    /** Shows `page` as draft `draftId`; a refusal turns drafts off (logged), never throws. */
    async draft(draftId: number, page: Page): Promise<void> {
      const payload = (asHtml: boolean) => ({
        chat_id: chatId,
        draft_id: draftId,
        text: asHtml ? page.html : page.plain,
        ...(asHtml ? { parse_mode: "HTML" } : {}),
        ...thread,
      });
      const call = (asHtml: boolean) =>
        outbox.send(
          chatId,
          () => telegram.callApi("sendMessageDraft" as never, payload(asHtml) as never),
          "sendMessageDraft",
        );
      try {
        await call(true).catch((err: unknown) => {
          if (/can't parse entities/i.test(botApiDescription(err))) return call(false);
          throw err;
        });
      } catch (err) {
        // An older Bot API server (or a chat without drafts): stream with send + edit from now on.
        deps.drafts.available = false;
        logger.warn({ err, chatId }, "sendMessageDraft failed; streaming with send and edit instead");
      }
    },

    /** Sends a plain-text message (a notice), no formatting. */
    async plain(text: string, label: string): Promise<void> {
      await outbox.send(
        chatId,
        () => telegram.sendMessage(chatId, text, { ...thread, ...NO_PREVIEW }),
        label,
      );
    },
  };
}

/** A sender; see {@link createFormattedSender}. */
export type FormattedSender = ReturnType<typeof createFormattedSender>;
