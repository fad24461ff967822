import type { Telegram } from "telegraf";
import { threadParam } from "../domain/topic-key.js";
import type { Queueing } from "./formatted-send.js";
import { botApiDescription, type Outbox } from "./outbox.js";

/** Bot API `InputRichMessage` as the bot sends it: the agent's Markdown (Bot API 10.1). */
export type InputRichMessage = { markdown: string };

/**
 * Sends rich messages (Bot API 10.1, June 2026) into one chat and forum topic through the chat's
 * outbox. Telegraf 4.16's types predate them, so the calls go through `callApi`:
 * - `send`: sendRichMessage `{ chat_id, message_thread_id?, rich_message: { markdown } }`;
 * - `edit`: editMessageText `{ chat_id, message_id, rich_message }` (a rich edit; "message is not
 *   modified" counts as done);
 * - `draft`: sendRichMessageDraft `{ chat_id, draft_id, rich_message, message_thread_id? }` (private
 *   chats only).
 * `markdown` may be a function, read when the call goes out (an edit that waited shows the newest
 * text). Every method throws the Bot API error (after the outbox's retries): the caller falls back
 * to HTML for that message.
 */
export function createRichSender(deps: {
  telegram: Telegram;
  outbox: Outbox;
  chatId: number;
  threadId: number;
}) {
  const { telegram, outbox, chatId } = deps;
  const thread = threadParam(deps.threadId);
  const call = <T>(method: string, payload: Record<string, unknown>) =>
    telegram.callApi(method as never, payload as never) as Promise<T>;

  return {
    /** sendRichMessage; resolves to the new message's id and the Markdown it shows. */
    async send(markdown: () => string, queueing: Queueing): Promise<{ id: number; shown: string }> {
      let shown = "";
      const sent = await outbox.send(
        chatId,
        () => {
          shown = markdown();
          return call<{ message_id: number }>("sendRichMessage", {
            chat_id: chatId,
            ...thread,
            rich_message: { markdown: shown } satisfies InputRichMessage,
          });
        },
        { ...queueing, topic: deps.threadId },
      );
      return { id: sent.message_id, shown };
    },

    /** editMessageText with `rich_message`; resolves to the Markdown the message shows now. */
    async edit(messageId: number, markdown: () => string, queueing: Queueing): Promise<string> {
      let shown = "";
      try {
        await outbox.send(
          chatId,
          () => {
            shown = markdown();
            return call<unknown>("editMessageText", {
              chat_id: chatId,
              message_id: messageId,
              rich_message: { markdown: shown } satisfies InputRichMessage,
            });
          },
          { ...queueing, topic: deps.threadId },
        );
      } catch (err) {
        if (!/message is not modified/i.test(botApiDescription(err))) throw err;
      }
      return shown;
    },

    /** sendRichMessageDraft as draft `draftId`; resolves to the Markdown the draft shows. */
    async draft(draftId: number, markdown: () => string): Promise<string> {
      let shown = "";
      await outbox.send(
        chatId,
        () => {
          shown = markdown();
          return call<boolean>("sendRichMessageDraft", {
            chat_id: chatId,
            draft_id: draftId,
            rich_message: { markdown: shown } satisfies InputRichMessage,
            ...thread,
          });
        },
        { label: "sendRichMessageDraft", priority: "edit", key: `d:${draftId}`, topic: deps.threadId },
      );
      return shown;
    },

    /** deleteMessage of a message the rich answer replaced. */
    async remove(messageId: number): Promise<void> {
      await outbox.send(chatId, () => telegram.deleteMessage(chatId, messageId), {
        label: "deleteMessage",
        priority: "message",
        topic: deps.threadId,
      });
    },
  };
}

/** A rich sender; see {@link createRichSender}. */
export type RichSender = ReturnType<typeof createRichSender>;
