import type { Message } from "telegraf/types";
import type { TopicKey } from "../db/session-store.js";

/** Where a message belongs: its topic key, and the message_thread_id to answer with (if any). */
export type MessageTopic = { key: TopicKey; messageThreadId: number | undefined };

/**
 * The topic of an incoming message. Only forum-topic messages (`is_topic_message`, in supergroups and
 * in private chats with topics, Bot API 9.3) carry a thread: messages in the General topic, in plain
 * groups and private chats get thread 0 and are answered without message_thread_id. A reply thread in
 * a non-forum group also carries message_thread_id, without is_topic_message; it is not a topic.
 *
 * @returns undefined when the message has no sender (channel posts).
 */
export function topicOf(message: Message): MessageTopic | undefined {
  if (!message.from) return undefined;
  const messageThreadId =
    message.is_topic_message === true && typeof message.message_thread_id === "number"
      ? message.message_thread_id
      : undefined;
  return {
    key: { chatId: message.chat.id, threadId: messageThreadId ?? 0, userId: message.from.id },
    messageThreadId,
  };
}
