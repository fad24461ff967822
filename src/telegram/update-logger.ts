import type { Context } from "telegraf";
import type { Logger } from "../logger.js";

/**
 * The update's child logger of `root` (update_id, chat, forum topic), made on first use and kept in
 * `ctx.state`: a pino child costs more than the rest of an update's trip through the bot, and most
 * updates log nothing.
 */
export function updateLogger(ctx: Context, root: Logger): Logger {
  const state = ctx.state as { log?: Logger };
  if (!state.log) {
    const message = ctx.message ?? ctx.callbackQuery?.message;
    const thread = message && "message_thread_id" in message ? message.message_thread_id : undefined;
    state.log = root.child({
      update_id: ctx.update.update_id,
      chat_id: ctx.chat?.id,
      ...(thread === undefined ? {} : { thread_id: thread }),
    });
  }
  return state.log;
}
