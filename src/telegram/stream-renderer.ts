import type { SessionUpdate } from "@agentclientprotocol/sdk";
import type { Telegram } from "telegraf";
import { messageThreadIdOf, type TopicKey } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { TurnView } from "../runner/types.js";
import { createAnswerDelivery, type RichMessagesMode } from "./answer-delivery.js";
import { createAnswerPages } from "./answer-pages.js";
import type { Step } from "./answer-stream.js";
import { createFormattedSender, type DraftSupport } from "./formatted-send.js";
import { botApiErrorCode, type Outbox } from "./outbox.js";
import type { PermissionPrompts } from "./permission-prompts.js";
import { createProgressMessage, createProgressStream } from "./progress-message.js";
import { createRichSender } from "./rich-send.js";
import { splitText } from "./split-text.js";
import { createTurnButtons } from "./turn-buttons.js";
import { answerDocumentStep, createTypingAction, type OutgoingFile, sendTurnFile } from "./turn-files.js";

/** Options of {@link createStreamRenderer}; durations in ms, lengths in UTF-16 code units. */
export type StreamRendererOptions = {
  telegram: Telegram;
  outbox: Outbox;
  /** The turn's topic key: where the answer goes and who may answer its permission prompts. */
  key: TopicKey;
  /** Private chats stream with sendMessageDraft; groups and forum topics with send + edit. */
  privateChat: boolean;
  drafts: DraftSupport;
  /** RICH_MESSAGES, and whether sendRichMessageDraft works (shared like `drafts`). */
  richMessages: RichMessagesMode;
  richDrafts: DraftSupport;
  /** Least time between two edits (or drafts) of one message. */
  editIntervalMs: number;
  /** How long the first message waits for more text after the first chunk (STREAM_FIRST_SEND_MS). */
  firstSendMs: number;
  /** Past this many characters of HTML the stream continues in a new message (≤ 4096). */
  pageLimit: number;
  /** Past this many characters of the agent's Markdown, messages stop; the whole goes as answer.md. */
  maxAnswerChars: number;
  showThoughts: boolean;
  prompts: PermissionPrompts;
  logger: Logger;
};

/** Global setTimeout (not timers/promises), so fake timers in tests drive the pacing. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Op = Step | { waitUntil: number } | "idle" | "done";

/**
 * A {@link TurnView} that streams the agent's answer into its topic as the agent writes it:
 * - forum topics and groups: the first text goes out with sendMessage, later text edits it in place
 *   (editMessageText) at most every `editIntervalMs`; past `pageLimit` the stream continues in a new
 *   message; the last edit carries the complete formatted text;
 * - private chats: sendMessageDraft (Bot API 9.3+) while streaming, then the final message(s);
 *   where drafts fail, send + edit as above.
 * The first message waits up to `firstSendMs` for some substance, so a short answer is one call.
 * Text is the agent's Markdown as Telegram HTML (plain text where Telegram cannot parse it). Tool
 * calls, the plan (and thoughts, when shown) live in one progress message edited in place. Images
 * and workspace files the agent links are sent along at the end. Every call goes through the chat's
 * {@link Outbox} (budget, order, retries). One loop per turn decides the next Bot API call: notices
 * first, then the answer, then the progress message, then files.
 */
export function createStreamRenderer(options: StreamRendererOptions): TurnView {
  const { telegram, outbox, key, logger } = options;
  const chatId = key.chatId;
  const buttons = createTurnButtons({ telegram, outbox, key, logger });
  const sender = createFormattedSender({
    telegram,
    outbox,
    chatId,
    threadId: key.threadId,
    drafts: options.drafts,
    stop: buttons.stop,
    logger,
  });
  const typing = createTypingAction(telegram, key, (err) =>
    logger.debug({ err, chatId }, "sendChatAction failed"),
  );
  const pages = createAnswerPages(options.pageLimit, options.maxAnswerChars);
  const answer = createAnswerDelivery({
    mode: options.richMessages,
    html: sender,
    rich: createRichSender({ telegram, outbox, chatId, threadId: key.threadId }),
    pages,
    privateChat: options.privateChat,
    drafts: options.drafts,
    richDrafts: options.richDrafts,
    pageLimit: options.pageLimit,
    editIntervalMs: options.editIntervalMs,
    firstSendMs: options.firstSendMs,
    chatId,
    logger,
    onText: () => typing.stop(),
  });
  const progressMessage = createProgressMessage(options.showThoughts);
  const progress = createProgressStream({
    sender,
    message: progressMessage,
    editIntervalMs: options.editIntervalMs,
  });

  let final = false;
  /** /cancel or Stop during delivery: no more messages, the whole answer as a document. */
  let stopped = false;
  /** Shutdown: nothing more at all. */
  let abandoned = false;
  let documentSent = false;
  let workspacePath: string | undefined;
  const notices: Array<{ text: string; sent: () => void }> = [];
  const files: OutgoingFile[] = [];
  let wakeUp: (() => void) | undefined;
  let pump: Promise<void> | undefined;

  const poke = () => {
    const wake = wakeUp;
    wakeUp = undefined;
    wake?.();
  };
  const nextPoke = () =>
    new Promise<void>((resolve) => {
      wakeUp = resolve;
    });

  function noticeStep(): Step | undefined {
    const notice = notices.shift();
    if (!notice) return undefined;
    return {
      run: async () => {
        try {
          for (const part of splitText(notice.text)) await sender.plain(part, "notice");
        } finally {
          notice.sent();
        }
      },
    };
  }

  function fileStep(): Step | undefined {
    const file = files.shift();
    if (!file) return undefined;
    return {
      run: async () => {
        const refusal = await sendTurnFile({ telegram, outbox }, key, workspacePath, file);
        if (refusal) notices.push({ text: refusal, sent: () => {} });
      },
    };
  }

  /** The whole answer as answer.md, once the turn is final, when it overflowed or delivery stopped. */
  function documentStep(): Step | undefined {
    if (documentSent || !(stopped || pages.overflows()) || !pages.hasText()) return undefined;
    documentSent = true;
    return answerDocumentStep({ telegram, outbox }, key, pages);
  }

  /** The next Bot API operation, or how long to wait for one. */
  function nextOp(now: number): Op {
    if (abandoned) return "done";
    const notice = noticeStep() ?? buttons.early();
    if (notice) return notice;
    if (stopped) return final ? (documentStep() ?? fileStep() ?? buttons.last() ?? "done") : "idle";
    const answerNext = answer.next(now);
    if (typeof answerNext !== "number") return answerNext;
    const progressNext = progress.next(now, { textShown: answer.hasShownText(), final });
    if (typeof progressNext !== "number") return progressNext;
    const waitUntil = Math.min(answerNext, progressNext);
    if (final && waitUntil === Number.POSITIVE_INFINITY)
      return documentStep() ?? fileStep() ?? buttons.last() ?? "done";
    return waitUntil === Number.POSITIVE_INFINITY ? "idle" : { waitUntil };
  }

  async function runPump(): Promise<void> {
    for (;;) {
      const op = nextOp(Date.now());
      if (op === "done") return;
      if (op === "idle") {
        await nextPoke();
      } else if ("waitUntil" in op) {
        await Promise.race([sleep(Math.max(0, op.waitUntil - Date.now())), nextPoke()]);
      } else {
        try {
          await op.run();
        } catch (err) {
          logger.error({ err, chatId, code: botApiErrorCode(err) }, "could not post to the topic");
        }
      }
    }
  }

  let resolveAbandoned = () => {};
  const abandonedSignal = new Promise<void>((resolve) => {
    resolveAbandoned = resolve;
  });
  const ensurePump = () => {
    pump ??= runPump();
    poke();
    return Promise.race([pump, abandonedSignal]);
  };

  return {
    start(info) {
      workspacePath = info.workspacePath;
      if (info.turnId !== undefined) buttons.start(info.turnId);
      typing.start();
      void ensurePump();
    },

    update(update: SessionUpdate) {
      switch (update.sessionUpdate) {
        case "agent_message_chunk": {
          const content = update.content;
          if (content.type === "text") pages.append(content.text);
          else if (content.type === "image")
            files.push({ kind: "image", data: content.data, mimeType: content.mimeType });
          else if (content.type === "resource_link")
            files.push({ kind: "link", uri: content.uri, name: content.name });
          break;
        }
        case "agent_thought_chunk":
        case "tool_call":
        case "tool_call_update":
        case "plan":
          progressMessage.apply(update);
          break;
        // Not shown while a turn streams: the user's own words, session state the runner keeps
        // (modes, config options, commands, title, usage) and compaction the client did not ask for.
        case "user_message_chunk":
        case "available_commands_update":
        case "current_mode_update":
        case "config_option_update":
        case "session_info_update":
        case "usage_update":
        case "notice":
        case "compaction_update":
        case "compaction_summary_chunk":
          return;
        default: {
          const unhandled: never = update;
          void unhandled;
          return;
        }
      }
      void ensurePump();
    },

    notice(text) {
      return new Promise<void>((sent) => {
        notices.push({ text, sent });
        void ensurePump();
      });
    },

    askPermission: (request, signal) =>
      options.prompts.ask(
        { chatId, messageThreadId: messageThreadIdOf(key.threadId), ownerUserId: key.userId },
        request,
        signal,
      ),

    stopDelivery() {
      if (stopped || abandoned) return;
      stopped = true;
      logger.info({ chatId }, "delivery of an answer stopped; the whole answer follows as answer.md");
      void ensurePump();
    },

    abandon() {
      const undelivered = final && !abandoned && (answer.pending() || (pages.overflows() && !documentSent));
      abandoned = true;
      typing.stop();
      resolveAbandoned();
      poke();
      return undelivered;
    },

    queued(turnId) {
      buttons.queued(turnId);
      void ensurePump();
    },

    async finish(outcome) {
      typing.stop();
      buttons.stop.disarm();
      pages.end(outcome);
      final = true;
      // An intermediate edit still waiting in the outbox now carries the final text: send it first.
      for (const key of [answer.end(), progress.inFlight()]) if (key) outbox.promote(chatId, key);
      await ensurePump();
    },
  };
}
