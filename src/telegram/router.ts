import type { Context, NarrowedContext, Telegraf } from "telegraf";
import type { Message, Update } from "telegraf/types";
import { type MessageTopic, topicOf } from "../domain/topic-key.js";

/** The context of a text message that is a command. */
export type CommandContext = NarrowedContext<Context, Update.MessageUpdate<Message.TextMessage>>;
/** The context of a button tap (callback_query). */
export type ActionContext = NarrowedContext<Context, Update.CallbackQueryUpdate>;

type CommandHandler = (ctx: CommandContext) => Promise<unknown>;
type ActionHandler = (ctx: ActionContext, data: string) => Promise<unknown>;

/**
 * Collects the bot's commands and button handlers. Text messages ask `handleCommand` before they
 * become prompts, and taps go through one callback_query middleware: every layer of Telegraf's
 * middleware chain costs every update its promise round-trips (webhook throughput).
 */
export function createRouter() {
  const commands = new Map<string, CommandHandler>();
  const actions: Array<{ prefix: string; handler: ActionHandler }> = [];
  return {
    /** Handles `/name` (also `/name@botname`, Telegraf's command matching). */
    command(name: string, handler: CommandHandler): void {
      commands.set(name, handler);
    },
    /** Handles taps on buttons whose callback_data starts with `prefix`. */
    action(prefix: string, handler: ActionHandler): void {
      actions.push({ prefix, handler });
    },
    /**
     * Runs the handler when the message starts with a registered `/command` (Bot API bot_command
     * entity at offset 0; a `@botname` suffix must name this bot, case-insensitively). Returns
     * undefined when the message is no command of ours.
     */
    handleCommand(ctx: CommandContext): Promise<unknown> | undefined {
      const entity = ctx.message.entities?.[0];
      if (entity?.type !== "bot_command" || entity.offset !== 0) return undefined;
      const [name = "", to] = ctx.message.text.slice(1, entity.length).split("@");
      if (to !== undefined && to.toLowerCase() !== ctx.me.toLowerCase()) return undefined;
      return commands.get(name)?.(ctx);
    },

    /**
     * Adds one callback_query middleware to `bot` for the registered button handlers. A tap whose
     * data no handler knows (a button of an older version, empty data) is answered with a short
     * alert, so the user's button does not spin (Bot API answerCallbackQuery).
     */
    mountActions(bot: Telegraf, onError: (ctx: ActionContext, err: unknown) => void): void {
      bot.on("callback_query", (ctx) => {
        const data = "data" in ctx.callbackQuery ? ctx.callbackQuery.data : "";
        const match = data === "" ? undefined : actions.find((a) => data.startsWith(a.prefix));
        // A tap is answered over the network: it runs on its own, so the Update is taken in at once.
        const handled = match
          ? match.handler(ctx, data)
          : ctx.answerCbQuery("This button is no longer valid.", { show_alert: true });
        void handled.catch((err: unknown) => onError(ctx, err));
      });
    },
  };
}

/** A router; see {@link createRouter}. */
export type Router = ReturnType<typeof createRouter>;

/**
 * A command handler that gets the message's topic and the text after the command (trimmed);
 * messages without text or without a sender (channel posts) are ignored.
 */
export function withTopic(
  handler: (ctx: Context, topic: MessageTopic, args: string) => Promise<unknown>,
): (ctx: Context) => Promise<void> {
  return async (ctx: Context) => {
    const message = ctx.message;
    if (!message || !("text" in message)) return;
    const topic = topicOf(message);
    if (!topic) return;
    await handler(ctx, topic, message.text.replace(/^\/\S+\s*/, "").trim());
  };
}
