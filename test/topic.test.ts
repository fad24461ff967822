import type { Message } from "telegraf/types";
import { describe, expect, it } from "vitest";
import { topicOf } from "../src/domain/topic-key.js";
import { fixtureUpdate } from "./support/updates.js";

const messageOf = (name: string) => fixtureUpdate(name).message as unknown as Message;

describe("topicOf", () => {
  it("keys a forum-topic message by chat, message_thread_id and user, and answers in that thread", () => {
    expect(topicOf(messageOf("supergroup_topic_message"))).toEqual({
      key: { chatId: -1001234567890, threadId: 2391, userId: 111222333 },
      messageThreadId: 2391,
    });
  });

  it("uses thread 0 and no message_thread_id in the General topic and in private chats", () => {
    expect(topicOf(messageOf("supergroup_general_topic_message"))).toEqual({
      key: { chatId: -1001234567890, threadId: 0, userId: 111222333 },
      messageThreadId: undefined,
    });
    expect(topicOf(messageOf("private_text_message"))).toEqual({
      key: { chatId: 111222333, threadId: 0, userId: 111222333 },
      messageThreadId: undefined,
    });
  });

  it("does not take a reply thread in a non-forum group for a topic", () => {
    const message = {
      ...messageOf("supergroup_topic_message"),
      is_topic_message: undefined,
    } as unknown as Message;
    expect(topicOf(message)?.messageThreadId).toBeUndefined();
    expect(topicOf(message)?.key.threadId).toBe(0);
  });

  it("has no topic for a message without a sender (channel post)", () => {
    const message = { ...messageOf("supergroup_topic_message"), from: undefined } as unknown as Message;
    expect(topicOf(message)).toBeUndefined();
  });
});
