import type { Telegram } from "telegraf";
import type { TurnOutput } from "../runner.js";
import { splitText } from "./split-text.js";

/**
 * A {@link TurnOutput} that posts into one chat and forum topic through the Bot API
 * (sendMessage, sendChatAction), always passing the topic's message_thread_id itself, since the
 * turn runs detached from Telegraf's context. Errors of the Bot API are thrown to the caller.
 */
export function createTopicOutput(
  telegram: Telegram,
  chatId: number,
  messageThreadId: number | undefined,
): TurnOutput {
  const thread = messageThreadId === undefined ? {} : { message_thread_id: messageThreadId };
  const send = async (text: string) => {
    for (const part of splitText(text)) {
      await telegram.sendMessage(chatId, part, { ...thread, link_preview_options: { is_disabled: true } });
    }
  };
  return {
    typing: async () => {
      await telegram.sendChatAction(chatId, "typing", thread);
    },
    notice: send,
    answer: send,
  };
}
