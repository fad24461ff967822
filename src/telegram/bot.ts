import type { ContentBlock } from "@agentclientprotocol/sdk";
import { type Context, Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import type { Attachment } from "../acp/acp-client.js";
import type { ModelCatalog } from "../acp/model-catalog.js";
import type { Config } from "../config.js";
import type { TurnRow } from "../db/schema.js";
import type { SessionStore } from "../db/session-store.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner.js";
import { downloadToWorkspace, FileTooLargeError, type IncomingFile } from "./attachments.js";
import { registerCommands } from "./commands.js";
import { sendWorkspaceFile } from "./file-sender.js";
import { createOutbox } from "./outbox.js";
import { createPermissionPrompts, PERMISSION_CALLBACK_PREFIX } from "./permission-prompts.js";
import { createPromptIntake } from "./prompt-intake.js";
import { createRouter } from "./router.js";
import { createStreamRenderer, type DraftSupport } from "./stream-renderer.js";
import { type MessageTopic, topicOf } from "./topic.js";

/** Message kinds a user sends on purpose that the bot cannot pass to the agent. */
const UNSUPPORTED_CONTENT = [
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

/** Below Telegram's 4096: room for the formatting that the last edit adds. */
const STREAM_PAGE_LIMIT = 3_900;
/** Longest prompt passed to the agent, in characters. */
export const MAX_PROMPT_CHARS = 100_000;
/** callback_data prefix of the Retry button under an interrupted turn: `r:<turn id>`. */
export const RETRY_CALLBACK_PREFIX = "r:";

/** The bot and what the composition root needs from it besides the Telegraf instance. */
export type BotHandle = {
  telegraf: Telegraf;
  /**
   * Tells each interrupted turn's topic that it was interrupted, with a Retry button; calls
   * `notified` for each turn whose message went out.
   */
  announceInterrupted(turns: TurnRow[], notified: (turnId: number) => void): Promise<void>;
  /** Submits the parts of long messages still being joined (shutdown). */
  flushInput(): void;
};

/**
 * Creates the Telegraf bot with the bot's handlers: the allowlist (messages, commands and button
 * taps), the commands, permission buttons, then text, photos and documents → a turn in the runner
 * (queued per topic, never awaited, so the update is handled in milliseconds), streamed back by a
 * renderer through a per-chat outbox. Runs with `webhookReply: false` (every Bot API call is a real
 * request) and `apiRoot` from config. The caller sets `bot.botInfo` (getMe) before handing it updates.
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
  streaming: Config["streaming"];
  inputDebounceMs: number;
  logger: Logger;
}): BotHandle {
  const { logger, runner } = deps;
  const bot = new Telegraf(deps.botToken, {
    telegram: { apiRoot: deps.apiRoot, webhookReply: false },
    // Handlers only queue work; a slow one is a bug worth an error in the log, not a hung update.
    handlerTimeout: 30_000,
  });
  const outbox = createOutbox({
    groupPerMinute: deps.streaming.groupPerMinute,
    privatePerMinute: deps.streaming.privatePerMinute,
    retries: deps.streaming.retries,
    minIntervalMs: deps.streaming.chatMinIntervalMs,
    logger,
  });
  const drafts: DraftSupport = { available: true };
  const intake = createPromptIntake({ debounceMs: deps.inputDebounceMs });

  /**
   * The update's child logger (update_id, chat, forum topic), made on first use: a pino child costs
   * more than the rest of an update's trip through the bot, and most updates log nothing.
   */
  const logOf = (ctx: Context): Logger => {
    const state = ctx.state as { log?: Logger };
    if (!state.log) {
      const message = ctx.message ?? ctx.callbackQuery?.message;
      const thread = message && "message_thread_id" in message ? message.message_thread_id : undefined;
      state.log = logger.child({
        update_id: ctx.update.update_id,
        chat_id: ctx.chat?.id,
        ...(thread === undefined ? {} : { thread_id: thread }),
      });
    }
    return state.log;
  };

  bot.catch((err, ctx) => {
    logOf(ctx).error({ err }, "update handler failed");
  });

  bot.use(async (ctx, next) => {
    const from = ctx.from;
    if (from && !from.is_bot && deps.allowedUserIds.has(from.id)) return next();
    logOf(ctx).info({ user_id: from?.id }, "update from a user not in ALLOWED_USER_IDS ignored");
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
    outbox,
    timeoutMs: deps.permissionTimeoutMs,
    logger,
  });
  const router = createRouter();
  router.action(PERMISSION_CALLBACK_PREFIX, (ctx, data) => prompts.handleCallback(ctx, data));
  registerCommands(router, {
    store: deps.store,
    runner,
    models: deps.models,
    agentCommand: deps.agentCommand,
    logger,
  });

  router.command("get", async (ctx) => {
    const topic = topicOf(ctx.message);
    if (!topic) return;
    const requested = ctx.message.text.replace(/^\/\S+\s*/, "").trim();
    if (requested === "") {
      await ctx.reply("Usage: /get <path inside this topic's workspace>");
      return;
    }
    const workspace = await runner.workspaceFor(topic.key);
    const refusal = await sendWorkspaceFile(
      { telegram: ctx.telegram, outbox },
      { chatId: ctx.chat.id, messageThreadId: topic.messageThreadId },
      workspace,
      requested,
    );
    if (refusal) await ctx.reply(refusal);
  });

  const viewFor = (chatId: number, messageThreadId: number | undefined, ownerUserId: number) =>
    createStreamRenderer({
      telegram: bot.telegram,
      outbox,
      chatId,
      messageThreadId,
      ownerUserId,
      // Private chats have the user's (positive) id; groups negative ones.
      privateChat: chatId > 0,
      drafts,
      editIntervalMs: deps.streaming.editIntervalMs,
      pageLimit: STREAM_PAGE_LIMIT,
      showThoughts: deps.streaming.showThoughts,
      prompts,
      logger,
    });

  const startTurn = (
    ctx: Context,
    topic: MessageTopic,
    prompt: ContentBlock[],
    attachments?: Attachment[],
  ) => {
    const chat = ctx.chat;
    if (!chat) return;
    const length = prompt.reduce((n, block) => n + (block.type === "text" ? block.text.length : 0), 0);
    if (length > MAX_PROMPT_CHARS) {
      void ctx
        .reply(
          `This prompt has ${length.toLocaleString("en")} characters; the limit is ${MAX_PROMPT_CHARS.toLocaleString("en")}. Send it as a document instead.`,
        )
        .catch((err: unknown) => logOf(ctx).error({ err }, "could not refuse an oversized prompt"));
      return;
    }
    if (logger.isLevelEnabled("debug")) logOf(ctx).debug({ topic: topic.key }, "prompt queued");
    void runner.enqueue({
      key: topic.key,
      prompt,
      ...(attachments ? { attachments } : {}),
      updateId: ctx.update.update_id,
      view: viewFor(chat.id, topic.messageThreadId, topic.key.userId),
    });
  };

  router.action(RETRY_CALLBACK_PREFIX, async (ctx, data) => {
    const turnId = Number(data.slice(RETRY_CALLBACK_PREFIX.length));
    const message = ctx.callbackQuery.message;
    if (!message) return ctx.answerCbQuery("This message is too old.", { show_alert: true });
    const messageThreadId =
      "is_topic_message" in message && message.is_topic_message ? message.message_thread_id : undefined;
    const refusal = runner.retry(turnId, ctx.from.id, viewFor(message.chat.id, messageThreadId, ctx.from.id));
    if (refusal) return ctx.answerCbQuery(refusal, { show_alert: true });
    await ctx.answerCbQuery("Retrying");
    await ctx
      .editMessageReplyMarkup({ inline_keyboard: [] })
      .catch((err: unknown) => logOf(ctx).debug({ err }, "could not remove the Retry button"));
  });

  bot.on(message("text"), (ctx) => {
    const command = router.handleCommand(ctx);
    if (command) return command;
    const topic = topicOf(ctx.message);
    if (!topic || ctx.message.text.trim() === "") return;
    intake.add(topic.key, ctx.message.text, (text) => startTurn(ctx, topic, [{ type: "text", text }]));
  });

  const withFile = async (ctx: Context, file: IncomingFile, caption: string | undefined) => {
    const message = ctx.message;
    const topic = message ? topicOf(message) : undefined;
    if (!topic) return;
    try {
      const workspace = await runner.workspaceFor(topic.key);
      const attachment = await downloadToWorkspace(ctx.telegram, file, workspace);
      const text = caption?.trim() || `I sent you ${attachment.name}.`;
      startTurn(ctx, topic, [{ type: "text", text }], [attachment]);
    } catch (err) {
      if (err instanceof FileTooLargeError) {
        await ctx.reply(`📎 ${err.message}`);
        return;
      }
      logOf(ctx).error({ err }, "could not fetch the file the user sent");
      await ctx.reply("⚠️ Could not fetch that file from Telegram; it was not sent to the agent.");
    }
  };

  bot.on(message("photo"), (ctx) => {
    // Telegram sends several sizes; the last is the largest.
    const largest = ctx.message.photo.at(-1);
    if (!largest) return;
    const name = `photo-${largest.file_unique_id}.jpg`;
    void withFile(
      ctx,
      { fileId: largest.file_id, name, mimeType: "image/jpeg", size: largest.file_size },
      ctx.message.caption,
    );
  });

  bot.on(message("document"), (ctx) => {
    const doc = ctx.message.document;
    void withFile(
      ctx,
      {
        fileId: doc.file_id,
        name: doc.file_name ?? `document-${doc.file_unique_id}`,
        mimeType: doc.mime_type ?? "application/octet-stream",
        size: doc.file_size,
      },
      ctx.message.caption,
    );
  });

  // After the message handlers, so text messages (the hot path) skip this layer.
  router.mountActions(bot);

  bot.on("message", async (ctx) => {
    const kind = UNSUPPORTED_CONTENT.find((k) => k in ctx.message);
    if (!kind) return; // service messages (topic created, member joined...) need no answer
    await ctx.reply(
      `Only text, photos and documents reach the agent; this ${kind.replace("_", " ")} was not sent to it.`,
    );
  });

  return {
    telegraf: bot,
    flushInput: () => intake.flushAll(),
    async announceInterrupted(turns, notified) {
      for (const turn of turns) {
        const preview = turn.prompt.length > 200 ? `${turn.prompt.slice(0, 200)}…` : turn.prompt;
        const text = `⚠️ The bot stopped before it finished this prompt:\n«${preview}»`;
        try {
          await outbox.send(
            turn.chatId,
            () =>
              bot.telegram.sendMessage(turn.chatId, text, {
                ...(turn.threadId === 0 ? {} : { message_thread_id: turn.threadId }),
                reply_markup: {
                  inline_keyboard: [
                    [{ text: "🔁 Retry", callback_data: `${RETRY_CALLBACK_PREFIX}${turn.id}` }],
                  ],
                },
              }),
            "interrupted turn",
          );
          notified(turn.id);
        } catch (err) {
          logger.error({ err, turnId: turn.id }, "could not tell a topic about its interrupted turn");
        }
      }
    },
  };
}
