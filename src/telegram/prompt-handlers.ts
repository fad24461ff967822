import type { ContentBlock } from "@agentclientprotocol/sdk";
import type { Context, Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import { type MessageTopic, topicOf } from "../domain/topic-key.js";
import type { Attachment, PendingFile } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import { MAX_DOWNLOAD_BYTES, tooLargeLine } from "./attachments.js";
import type { PromptIntake } from "./prompt-intake.js";
import type { Reply } from "./replies.js";
import type { Router } from "./router.js";
import { updateLogger } from "./update-logger.js";

/** Longest prompt passed to the agent, in characters. */
export const MAX_PROMPT_CHARS = 100_000;

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

/**
 * Registers what turns messages into prompts: text (commands first, then long pasted parts joined
 * by the intake), photos (the largest size) and documents (downloaded into the topic's workspace),
 * each with its caption; other content gets one line saying it was not sent. Prompts go to the
 * runner, never awaited, so the Update is handled in milliseconds. A prompt over
 * {@link MAX_PROMPT_CHARS} is refused in one line.
 */
export function registerPromptHandlers(
  bot: Telegraf,
  deps: { runner: Runner; router: Router; intake: PromptIntake; reply: Reply; logger: Logger },
): void {
  const { runner, router } = deps;

  const startTurn = (
    ctx: Context,
    topic: MessageTopic,
    prompt: ContentBlock[],
    attachments: Attachment[] = [],
    files: PendingFile[] = [],
  ) => {
    const length = prompt.reduce((n, block) => n + (block.type === "text" ? block.text.length : 0), 0);
    if (length > MAX_PROMPT_CHARS) {
      void deps
        .reply(
          ctx,
          `This prompt has ${length.toLocaleString("en")} characters; the limit is ${MAX_PROMPT_CHARS.toLocaleString("en")}. Send it as a document instead.`,
        )
        .catch((err: unknown) =>
          updateLogger(ctx, deps.logger).error({ err }, "could not refuse an oversized prompt"),
        );
      return;
    }
    // Resolves once the prompt is journalled: the webhook acknowledges the Update only then.
    return runner
      .accept({
        key: topic.key,
        prompt,
        ...(attachments.length > 0 ? { attachments } : {}),
        ...(files.length > 0 ? { files } : {}),
        updateId: ctx.update.update_id,
      })
      .then(() => {});
  };

  bot.on(message("text"), (ctx) => {
    // Commands answer over the network: they run on their own, so the Update is taken in at once.
    const command = router.handleCommand(ctx);
    if (command) {
      void command.catch((err: unknown) => updateLogger(ctx, deps.logger).error({ err }, "command failed"));
      return;
    }
    const topic = topicOf(ctx.message);
    if (!topic || ctx.message.text.trim() === "") return;
    return deps.intake.add(topic.key, ctx.message.text, (text) =>
      startTurn(ctx, topic, [{ type: "text", text }]),
    );
  });

  /**
   * A photo or document: journalled at once with its file still on Telegram's side, so it keeps its
   * place in the topic's queue; the file is fetched when the turn runs. One over the download limit
   * is refused at once.
   */
  const withFile = (ctx: Context, file: PendingFile, caption: string | undefined) => {
    const topic = ctx.message ? topicOf(ctx.message) : undefined;
    if (!topic) return undefined;
    if (file.size !== undefined && file.size > MAX_DOWNLOAD_BYTES) {
      void deps
        .reply(ctx, `📎 ${tooLargeLine(file.name)}.`)
        .catch((err: unknown) =>
          updateLogger(ctx, deps.logger).error({ err }, "could not refuse a large file"),
        );
      return undefined;
    }
    const text = caption?.trim() || `I sent you ${file.name}.`;
    return startTurn(ctx, topic, [{ type: "text", text }], [], [file]);
  };

  bot.on(message("photo"), (ctx) => {
    // Telegram sends several sizes; the last is the largest.
    const largest = ctx.message.photo.at(-1);
    if (!largest) return;
    const name = `photo-${largest.file_unique_id}.jpg`;
    return withFile(
      ctx,
      {
        fileId: largest.file_id,
        name,
        mimeType: "image/jpeg",
        ...(largest.file_size !== undefined ? { size: largest.file_size } : {}),
        messageId: ctx.message.message_id,
      },
      ctx.message.caption,
    );
  });

  bot.on(message("document"), (ctx) => {
    const doc = ctx.message.document;
    return withFile(
      ctx,
      {
        fileId: doc.file_id,
        name: doc.file_name ?? `document-${doc.file_unique_id}`,
        mimeType: doc.mime_type ?? "application/octet-stream",
        ...(doc.file_size !== undefined ? { size: doc.file_size } : {}),
        messageId: ctx.message.message_id,
      },
      ctx.message.caption,
    );
  });
}

/** Registers the answer to content the agent cannot take (stickers, voice, polls...); last handler. */
export function registerUnsupportedContent(bot: Telegraf, reply: Reply, logger: Logger): void {
  bot.on("message", (ctx) => {
    const kind = UNSUPPORTED_CONTENT.find((k) => k in ctx.message);
    if (!kind) return; // service messages (topic created, member joined...) need no answer
    void reply(
      ctx,
      `Only text, photos and documents reach the agent; this ${kind.replace("_", " ")} was not sent to it.`,
    ).catch((err: unknown) => updateLogger(ctx, logger).error({ err }, "could not answer a message"));
  });
}
