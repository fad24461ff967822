import type { ContentBlock } from "@agentclientprotocol/sdk";
import type { Context, Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import { MAX_PROMPT_CHARS, NO_AUDIO_ROUTE } from "../domain/prompt.js";
import { type MessageTopic, topicOf } from "../domain/topic-key.js";
import type { Attachment, PendingFile } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import { agentPromptText } from "./agent-command-menu.js";
import { audioFileName, MAX_DOWNLOAD_BYTES, tooLargeLine } from "./attachments.js";
import type { PromptIntake } from "./prompt-intake.js";
import type { Reply } from "./replies.js";
import type { Router } from "./router.js";
import { updateLogger } from "./update-logger.js";

/** Message kinds a user sends on purpose that the bot cannot pass to the agent. */
const UNSUPPORTED_CONTENT = [
  "sticker",
  "video",
  "video_note",
  "animation",
  "poll",
  "location",
  "contact",
] as const;

/**
 * Registers what turns messages into prompts: text (commands first, then long pasted parts joined
 * by the intake), photos (the largest size), documents, voice notes and audio files (Bot API
 * `voice`, `audio`: fetched into the topic's workspace when the turn runs), each with its caption;
 * other content gets one line saying it was not sent. Prompts go to the runner, never awaited, so
 * the Update is handled in milliseconds. A prompt over {@link MAX_PROMPT_CHARS} is refused in one
 * line, a file over the 20 MB download limit too, and so is voice when the runner knows it cannot
 * reach the agent (no TRANSCRIBE_URL, an agent that takes no audio).
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
    const entity = ctx.message.entities?.[0];
    // A command the bot does not handle goes to the agent as `/name args` (ACP "Slash Commands").
    const input =
      entity?.type === "bot_command" && entity.offset === 0
        ? agentPromptText(ctx.message.text, entity.length, ctx.me, runner.agentCommands(topic.key))
        : ctx.message.text;
    return deps.intake.add(topic.key, input, (text) => startTurn(ctx, topic, [{ type: "text", text }]));
  });

  /**
   * A photo, document, voice note or audio file: journalled at once with its file still on
   * Telegram's side, so it keeps its place in the topic's queue; the file is fetched when the turn
   * runs. One over the download limit is refused at once, and so is audio that cannot reach the agent.
   */
  const withFile = (ctx: Context, file: PendingFile, text: string) => {
    const topic = ctx.message ? topicOf(ctx.message) : undefined;
    if (!topic) return undefined;
    const refusal =
      file.size !== undefined && file.size > MAX_DOWNLOAD_BYTES
        ? `📎 ${tooLargeLine(file.name)}.`
        : file.audio && runner.audioRoute() === "none"
          ? `🎤 ${NO_AUDIO_ROUTE.charAt(0).toUpperCase()}${NO_AUDIO_ROUTE.slice(1)}; this one was not sent to the agent.`
          : undefined;
    if (refusal) {
      void deps
        .reply(ctx, refusal)
        .catch((err: unknown) => updateLogger(ctx, deps.logger).error({ err }, "could not refuse a file"));
      return undefined;
    }
    return startTurn(ctx, topic, [{ type: "text", text }], [], [file]);
  };
  const captionOr = (caption: string | undefined, name: string) => caption?.trim() || `I sent you ${name}.`;

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
      captionOr(ctx.message.caption, name),
    );
  });

  bot.on(message("document"), (ctx) => {
    const doc = ctx.message.document;
    const name = doc.file_name ?? `document-${doc.file_unique_id}`;
    return withFile(
      ctx,
      {
        fileId: doc.file_id,
        name,
        mimeType: doc.mime_type ?? "application/octet-stream",
        ...(doc.file_size !== undefined ? { size: doc.file_size } : {}),
        messageId: ctx.message.message_id,
      },
      captionOr(ctx.message.caption, name),
    );
  });

  // Voice notes and audio files: the sound is the prompt (an audio block or its transcript), so
  // the text is the caption alone.
  bot.on(message("voice"), (ctx) => {
    const voice = ctx.message.voice;
    return withFile(
      ctx,
      {
        fileId: voice.file_id,
        name: audioFileName("voice", voice.mime_type),
        mimeType: voice.mime_type ?? "audio/ogg",
        ...(voice.file_size !== undefined ? { size: voice.file_size } : {}),
        messageId: ctx.message.message_id,
        audio: true,
      },
      ctx.message.caption?.trim() ?? "",
    );
  });

  bot.on(message("audio"), (ctx) => {
    const audio = ctx.message.audio;
    const mimeType = audio.mime_type ?? "audio/mpeg";
    return withFile(
      ctx,
      {
        fileId: audio.file_id,
        name: audio.file_name ?? audioFileName("audio", mimeType),
        mimeType,
        ...(audio.file_size !== undefined ? { size: audio.file_size } : {}),
        messageId: ctx.message.message_id,
        audio: true,
      },
      ctx.message.caption?.trim() ?? "",
    );
  });
}

/** Registers the answer to content the agent cannot take (stickers, videos, polls...); last handler. */
export function registerUnsupportedContent(bot: Telegraf, reply: Reply, logger: Logger): void {
  bot.on("message", (ctx) => {
    const kind = UNSUPPORTED_CONTENT.find((k) => k in ctx.message);
    if (!kind) return; // service messages (topic created, member joined...) need no answer
    void reply(
      ctx,
      `Only text, photos, documents, voice notes and audio files reach the agent; this ${kind.replace("_", " ")} was not sent to it.`,
    ).catch((err: unknown) => updateLogger(ctx, logger).error({ err }, "could not answer a message"));
  });
}
