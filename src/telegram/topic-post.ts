import type { Telegram } from "telegraf";
import type { InlineKeyboardButton } from "telegraf/types";
import { type TopicKey, threadParam } from "../domain/topic-key.js";
import type { Outbox } from "./outbox.js";

/**
 * Posts `text` into the key's chat and forum topic (Bot API sendMessage with message_thread_id
 * outside the General topic) through the chat's outbox, optionally with inline buttons; resolves
 * with the message id.
 *
 * @throws the Bot API error after the outbox's retries.
 */
export async function postInTopic(
  deps: { telegram: Telegram; outbox: Outbox },
  key: TopicKey,
  text: string,
  label: string,
  keyboard?: InlineKeyboardButton[][],
): Promise<number> {
  const message = await deps.outbox.send(
    key.chatId,
    () =>
      deps.telegram.sendMessage(key.chatId, text, {
        ...threadParam(key.threadId),
        ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
      }),
    label,
  );
  return message.message_id;
}
