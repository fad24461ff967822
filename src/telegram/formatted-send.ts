import type { Telegram } from "telegraf";
import { threadParam } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Page } from "./markdown.js";
import { botApiDescription, type Outbox, type OutboxPriority } from "./outbox.js";
import type { StopButton } from "./stop-button.js";

/** Whether the Bot API server answers sendMessageDraft (Bot API 9.3+); shared by all renderers. */
export type DraftSupport = { available: boolean };

/** A message the bot sent and may edit: its id (undefined until sent) and the HTML it shows. */
export type Shown = { id: number | undefined; shown: string; lastEditAt: number };

/** What a post did: the message's id and the HTML it shows now. */
export type Posted = { id: number | undefined; html: string };

/** How a post is queued in the outbox: label, priority and (for edits) the message key. */
export type Queueing = { label: string; priority: OutboxPriority; key?: string };

const NO_PREVIEW = { link_preview_options: { is_disabled: true } };
const HTML = { parse_mode: "HTML" as const };

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
  /** The turn's Stop button, which rides on posts while the turn runs. */
  stop?: StopButton;
  logger: Logger;
}) {
  const { telegram, outbox, chatId, logger, stop } = deps;
  const thread = threadParam(deps.threadId);

  return {
    /**
     * Sends a page as a new message (target undefined or unsent) or edits `target` to show it. `page`
     * may be a function, read when the call actually runs: an edit that waited in the outbox then
     * carries the newest text, never a stale one.
     *
     * @returns the message id and the HTML it shows now.
     * @throws the Bot API error (after the outbox's retries) other than the two handled above.
     */
    async post(target: Shown | undefined, page: Page | (() => Page), queueing: Queueing): Promise<Posted> {
      const read = typeof page === "function" ? page : () => page;
      const queued = { ...queueing, topic: deps.threadId };
      const attempt = async (forceHtml: boolean | undefined): Promise<Posted> => {
        let current: Page = { html: "", plain: "" };
        // Runs inside the outbox's call, so it reads the page when the call goes out.
        const prepare = () => {
          current = read();
          const html = forceHtml ?? current.html !== current.plain;
          return {
            text: html ? current.html : current.plain,
            extra: { ...NO_PREVIEW, ...(html ? HTML : {}) },
          };
        };
        if (target?.id === undefined) {
          let button = false;
          let sentId: number | undefined;
          try {
            const sent = await outbox.send(
              chatId,
              () => {
                const { text, extra } = prepare();
                const markup = stop?.forSend();
                button ||= markup !== undefined;
                return telegram.sendMessage(chatId, text, {
                  ...thread,
                  ...extra,
                  ...(markup ? { reply_markup: markup } : {}),
                });
              },
              queued,
            );
            sentId = sent.message_id;
          } finally {
            stop?.sent(sentId, button);
          }
          return { id: sentId, html: current.html };
        }
        const id = target.id;
        await outbox.send(
          chatId,
          () => {
            const { text, extra } = prepare();
            const markup = stop?.forEdit(id);
            // An edit without reply_markup takes the Stop button off (Bot API editMessageText).
            stop?.edited(id, markup !== undefined);
            return telegram.editMessageText(chatId, id, undefined, text, {
              ...extra,
              ...(markup ? { reply_markup: markup } : {}),
            });
          },
          queued,
        );
        return { id, html: current.html };
      };
      try {
        return await attempt(undefined);
      } catch (err) {
        const description = botApiDescription(err);
        if (/message is not modified/i.test(description)) return { id: target?.id, html: read().html };
        if (/can't parse entities/i.test(description)) {
          logger.warn({ chatId, description }, "Telegram could not parse the HTML; sending plain text");
          return attempt(false);
        }
        throw err;
      }
    },

    /**
     * Shows a page as draft `draftId` (an intermediate edit in the outbox, keyed by the draft; the
     * page is read when the call goes out). A refusal turns drafts off (logged); never throws.
     *
     * @returns the HTML the draft shows now, or undefined when drafts failed.
     */
    async draft(draftId: number, page: () => Page): Promise<string | undefined> {
      let shown: string | undefined;
      const call = (asHtml: boolean) =>
        outbox.send(
          chatId,
          () => {
            const current = page();
            shown = current.html;
            return telegram.callApi(
              "sendMessageDraft" as never,
              {
                chat_id: chatId,
                draft_id: draftId,
                text: asHtml ? current.html : current.plain,
                ...(asHtml ? HTML : {}),
                ...thread,
              } as never,
            );
          },
          { label: "sendMessageDraft", priority: "edit", key: `d:${draftId}`, topic: deps.threadId },
        );
      try {
        await call(true).catch((err: unknown) => {
          if (/can't parse entities/i.test(botApiDescription(err))) return call(false);
          throw err;
        });
        return shown;
      } catch (err) {
        // An older Bot API server (or a chat without drafts): stream with send + edit from now on.
        deps.drafts.available = false;
        logger.warn({ err, chatId }, "sendMessageDraft failed; streaming with send and edit instead");
        return undefined;
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
