import fs from "node:fs";
import type { Update } from "telegraf/types";

const FIXTURES = new URL("../fixtures/telegram/", import.meta.url);
let nextUpdateId = 500_000_000;

/** The fields of a fixture message that tests rewrite. */
type FixtureMessage = {
  date: number;
  text?: string;
  entities?: Array<{ offset: number; length: number; type: string }>;
  message_thread_id?: number;
  from: { id: number };
  chat: { id: number };
  reply_to_message?: { message_id: number; message_thread_id?: number };
};

/** A fixture Update (test/fixtures/telegram/<name>.json) with a fresh update_id and today's date. */
export function fixtureUpdate(name: string): Update & { message: FixtureMessage } {
  const update = JSON.parse(fs.readFileSync(new URL(`${name}.json`, FIXTURES), "utf8"));
  update.update_id = ++nextUpdateId;
  if (update.message) update.message.date = Math.floor(Date.now() / 1000);
  return update;
}

/** The forum-topic text message fixture, moved to `threadId` (and optionally another user or chat). */
export function topicTextUpdate(
  text: string,
  options: { threadId: number; userId?: number; chatId?: number },
) {
  const update = fixtureUpdate("supergroup_topic_message");
  const message = update.message;
  message.text = text;
  message.message_thread_id = options.threadId;
  message.reply_to_message = {
    ...message.reply_to_message,
    message_id: options.threadId,
    message_thread_id: options.threadId,
  };
  if (options.userId !== undefined) message.from.id = options.userId;
  if (options.chatId !== undefined) message.chat.id = options.chatId;
  return update;
}

/** The private-chat text message fixture with `text` (optionally from another user). */
export function privateTextUpdate(text: string, options: { userId?: number } = {}) {
  const update = fixtureUpdate("private_text_message");
  const message = update.message;
  message.text = text;
  if (options.userId !== undefined) {
    message.from.id = options.userId;
    message.chat.id = options.userId;
  }
  return update;
}

/** The fixture user, allowed in test apps. */
export const FIXTURE_USER_ID = 111222333;
/** The fixture forum supergroup. */
export const FIXTURE_CHAT_ID = -1001234567890;

/** Marks a leading "/command" (with optional @botname) of the update's text as a bot_command entity. */
export function asCommand<U extends { message: FixtureMessage }>(update: U): U {
  const text = update.message.text ?? "";
  const length = /^\/\S+/.exec(text)?.[0].length ?? 0;
  update.message.entities = length > 0 ? [{ offset: 0, length, type: "bot_command" }] : [];
  return update;
}

/** A callback_query Update: a tap on a button with `data` under a bot message in topic `threadId`. */
export function callbackUpdate(
  data: string,
  options: { threadId: number; userId?: number; messageId?: number },
) {
  const update = JSON.parse(fs.readFileSync(new URL("callback_query_topic.json", FIXTURES), "utf8"));
  update.update_id = ++nextUpdateId;
  const query = update.callback_query;
  query.id = `cbq-${nextUpdateId}`;
  query.data = data;
  query.message.message_thread_id = options.threadId;
  query.message.date = Math.floor(Date.now() / 1000);
  if (options.messageId !== undefined) query.message.message_id = options.messageId;
  if (options.userId !== undefined) query.from.id = options.userId;
  return update as Update;
}

/** A tap by `userId` (default the fixture user) on the button `label` under a bot message in `threadId`. */
export function tapButton(
  message: { messageId?: number | undefined; payload: Record<string, unknown> },
  label: string,
  threadId: number,
  userId?: number,
) {
  const keyboard = message.payload.reply_markup as {
    inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
  };
  const button = keyboard.inline_keyboard.flat().find((b) => b.text === label);
  if (!button) throw new Error(`no button ${label}`);
  return callbackUpdate(button.callback_data, {
    threadId,
    messageId: message.messageId ?? 0,
    ...(userId === undefined ? {} : { userId }),
  });
}
