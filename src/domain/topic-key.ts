/**
 * Identifies one conversation: a user in a forum topic of a chat. `threadId` is the forum topic's
 * message_thread_id, or {@link NO_THREAD} (0) outside a forum topic (private chats without topics,
 * plain groups, a forum's General topic). message_thread_id is only unique inside one chat, so the
 * chat is part of the key (Bot API 9.3 "Message": message_thread_id, is_topic_message).
 */
export type TopicKey = { chatId: number; threadId: number; userId: number };

/** The `threadId` of a key outside any forum topic. */
export const NO_THREAD = 0;

/** A key as one string, `<chatId>:<threadId>:<userId>` (map keys, logs). */
export function topicKeyId(key: TopicKey): string {
  return `${key.chatId}:${key.threadId}:${key.userId}`;
}

/** The key's `threadId` for a message_thread_id (undefined outside a forum topic → 0). */
export function threadIdOf(messageThreadId: number | undefined): number {
  return messageThreadId ?? NO_THREAD;
}

/** The message_thread_id to answer a key's `threadId` with: undefined for 0 (none is sent). */
export function messageThreadIdOf(threadId: number): number | undefined {
  return threadId === NO_THREAD ? undefined : threadId;
}

/**
 * The Bot API `message_thread_id` parameter for a key's `threadId` (sendMessage, sendPhoto,
 * sendDocument, sendChatAction, sendMessageDraft): `{}` outside a forum topic, where Telegram wants
 * none (a message_thread_id of the General topic is refused).
 */
export function threadParam(threadId: number): { message_thread_id?: number } {
  return threadId === NO_THREAD ? {} : { message_thread_id: threadId };
}

/** The fields of a Bot API Message that say where it belongs (a structural subset of "Message"). */
export type MessagePlace = {
  chat: { id: number };
  from?: { id: number } | undefined;
  message_thread_id?: number | undefined;
  is_topic_message?: boolean | undefined;
};

/**
 * The forum topic a message was posted in: its message_thread_id when the message is a forum-topic
 * message (`is_topic_message`, in supergroups and in private chats with topics, Bot API 9.3),
 * otherwise undefined. Messages in the General topic, in plain groups and in private chats carry no
 * topic; a reply thread in a non-forum group carries message_thread_id without is_topic_message and is
 * not a topic either.
 */
export function topicThreadOf(message: Omit<MessagePlace, "from">): number | undefined {
  return message.is_topic_message === true && typeof message.message_thread_id === "number"
    ? message.message_thread_id
    : undefined;
}

/** Where a message belongs: its topic key, and the message_thread_id to answer with (if any). */
export type MessageTopic = { key: TopicKey; messageThreadId: number | undefined };

/**
 * The topic of an incoming message, for the user who sent it (see {@link topicThreadOf}).
 *
 * @returns undefined when the message has no sender (channel posts).
 */
export function topicOf(message: MessagePlace): MessageTopic | undefined {
  if (!message.from) return undefined;
  const messageThreadId = topicThreadOf(message);
  return {
    key: { chatId: message.chat.id, threadId: threadIdOf(messageThreadId), userId: message.from.id },
    messageThreadId,
  };
}

/**
 * The key of the user who tapped a button under `message` (a callback_query): the message's chat and
 * forum topic, and the tapping user.
 */
export function tapperKeyOf(message: Omit<MessagePlace, "from">, userId: number): MessageTopic {
  const messageThreadId = topicThreadOf(message);
  return { key: { chatId: message.chat.id, threadId: threadIdOf(messageThreadId), userId }, messageThreadId };
}

/** Whether a chat id is a private chat's (users have positive ids; groups and channels negative). */
export function isPrivateChat(chatId: number): boolean {
  return chatId > 0;
}
