import { Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import type { ModelCatalog } from "../acp/model-catalog.js";
import type { SessionStore } from "../db/session-store.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner.js";
import { registerCommands } from "./commands.js";
import { createPermissionPrompts, PERMISSION_CALLBACK_PREFIX } from "./permission-prompts.js";
import { topicOf } from "./topic.js";
import { createTurnView } from "./turn-view.js";

/** Message kinds a user sends on purpose that the bot cannot pass to the agent yet. */
const UNSUPPORTED_CONTENT = [
  "photo",
  "document",
  "sticker",
  "voice",
  "audio",
  "video",
  "video_note",
  "animation",
  "poll",
  "location",
  "contact",
] as const;

/**
 * Creates the Telegraf bot with the bot's handlers: the allowlist (messages, commands and button
 * taps), the commands, permission buttons, then text messages → a turn in the runner (queued per
 * topic, never awaited, so the update is handled in milliseconds). Runs with `webhookReply: false`
 * (every Bot API call is a real request) and `apiRoot` from config. The caller sets `bot.botInfo`
 * (getMe) before handing it updates.
 */
export function createBot(deps: {
  botToken: string;
  apiRoot: string;
  allowedUserIds: ReadonlySet<number>;
  runner: Runner;
  store: SessionStore;
  models: ModelCatalog;
  agentCommand: string;
  permissionTimeoutMs: number;
  logger: Logger;
}): Telegraf {
  const { logger, runner } = deps;
  const bot = new Telegraf(deps.botToken, {
    telegram: { apiRoot: deps.apiRoot, webhookReply: false },
    // Handlers only queue work; a slow one is a bug worth an error in the log, not a hung update.
    handlerTimeout: 30_000,
  });

  bot.catch((err, ctx) => {
    logger.error({ err, update_id: ctx.update.update_id }, "update handler failed");
  });

  bot.use(async (ctx, next) => {
    const from = ctx.from;
    if (from && !from.is_bot && deps.allowedUserIds.has(from.id)) return next();
    logger.info(
      { update_id: ctx.update.update_id, user_id: from?.id, chat_id: ctx.chat?.id },
      "update from a user not in ALLOWED_USER_IDS ignored",
    );
    // In groups, strangers get silence; in a private chat, what they need to ask the operator.
    if (ctx.callbackQuery) {
      await ctx.answerCbQuery("You are not allowed to use this bot.", { show_alert: true });
    } else if (from && !from.is_bot && ctx.chat?.type === "private" && ctx.message) {
      await ctx.reply(
        `Your Telegram user id is ${from.id}. You are not allowed to use this bot; ask its operator to add your id to ALLOWED_USER_IDS.`,
      );
    }
  });

  const prompts = createPermissionPrompts({
    telegram: bot.telegram,
    timeoutMs: deps.permissionTimeoutMs,
    logger,
  });
  bot.action(new RegExp(`^${PERMISSION_CALLBACK_PREFIX}`), (ctx) =>
    prompts.handleCallback(ctx, "data" in ctx.callbackQuery ? ctx.callbackQuery.data : ""),
  );
  registerCommands(bot, {
    store: deps.store,
    runner,
    models: deps.models,
    agentCommand: deps.agentCommand,
    logger,
  });

  bot.on(message("text"), (ctx) => {
    const topic = topicOf(ctx.message);
    const text = ctx.message.text;
    if (!topic || text.trim() === "") return;
    logger.info({ update_id: ctx.update.update_id, topic: topic.key }, "prompt queued");
    void runner.enqueue({
      key: topic.key,
      prompt: [{ type: "text", text }],
      view: createTurnView({
        telegram: ctx.telegram,
        chatId: ctx.chat.id,
        messageThreadId: topic.messageThreadId,
        ownerUserId: topic.key.userId,
        prompts,
        logger,
      }),
    });
  });

  bot.on("message", async (ctx) => {
    const kind = UNSUPPORTED_CONTENT.find((k) => k in ctx.message);
    if (!kind) return; // service messages (topic created, member joined...) need no answer
    await ctx.reply(
      `Only text messages reach the agent for now; this ${kind.replace("_", " ")} was not sent to it.`,
    );
  });

  return bot;
}
