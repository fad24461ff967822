import type { ContentBlock } from "@agentclientprotocol/sdk";
import { type Context, Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import type { Attachment } from "../acp/acp-client.js";
import type { ModelCatalog } from "../acp/model-catalog.js";
import type { SessionStore } from "../db/session-store.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner.js";
import { downloadToWorkspace, FileTooLargeError, type IncomingFile } from "./attachments.js";
import { registerCommands } from "./commands.js";
import { sendWorkspaceFile } from "./file-sender.js";
import { createOutbox } from "./outbox.js";
import { createPermissionPrompts, PERMISSION_CALLBACK_PREFIX } from "./permission-prompts.js";
import { createPromptIntake } from "./prompt-intake.js";
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

/** Streaming and pacing settings (see Config.streaming). */
export type StreamingOptions = {
  editIntervalMs: number;
  groupPerMinute: number;
  privatePerMinute: number;
  showThoughts: boolean;
  retries: number;
  chatMinIntervalMs: number;
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
  streaming: StreamingOptions;
  inputDebounceMs: number;
  logger: Logger;
}): Telegraf {
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
    outbox,
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

  bot.command("get", async (ctx) => {
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

  const startTurn = (
    ctx: Context,
    topic: MessageTopic,
    prompt: ContentBlock[],
    attachments?: Attachment[],
  ) => {
    const chat = ctx.chat;
    if (!chat) return;
    logger.info({ update_id: ctx.update.update_id, topic: topic.key }, "prompt queued");
    void runner.enqueue({
      key: topic.key,
      prompt,
      ...(attachments ? { attachments } : {}),
      view: createStreamRenderer({
        telegram: ctx.telegram,
        outbox,
        chatId: chat.id,
        messageThreadId: topic.messageThreadId,
        ownerUserId: topic.key.userId,
        privateChat: chat.type === "private",
        drafts,
        editIntervalMs: deps.streaming.editIntervalMs,
        pageLimit: STREAM_PAGE_LIMIT,
        showThoughts: deps.streaming.showThoughts,
        prompts,
        logger,
      }),
    });
  };

  bot.on(message("text"), (ctx) => {
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
      logger.error({ err }, "could not fetch the file the user sent");
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

  bot.on("message", async (ctx) => {
    const kind = UNSUPPORTED_CONTENT.find((k) => k in ctx.message);
    if (!kind) return; // service messages (topic created, member joined...) need no answer
    await ctx.reply(
      `Only text, photos and documents reach the agent; this ${kind.replace("_", " ")} was not sent to it.`,
    );
  });

  return bot;
}
