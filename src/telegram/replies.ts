import type { Context } from "telegraf";
import type { Message } from "telegraf/types";
import type { Outbox } from "./outbox.js";

/** The `extra` of a reply (Bot API sendMessage parameters besides chat_id and text). */
export type ReplyExtra = Parameters<Context["reply"]>[1];

/**
 * Replies to an update in its chat (and forum topic: Telegraf adds message_thread_id for topic
 * messages), through the chat's outbox at `command` priority: a command's answer goes before
 * queued answers and edits and stays within the chat's budget.
 */
export type Reply = (ctx: Context, text: string, extra?: ReplyExtra) => Promise<Message.TextMessage>;

/** The reply of the bot's handlers; see {@link Reply}. */
export function createReply(outbox: Outbox): Reply {
  return (ctx, text, extra) => {
    const chatId = ctx.chat?.id;
    if (chatId === undefined) return ctx.reply(text, extra);
    return outbox.send(chatId, () => ctx.reply(text, extra), { label: "reply", priority: "command" });
  };
}
