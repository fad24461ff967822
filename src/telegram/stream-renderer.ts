import { randomInt } from "node:crypto";
import type { SessionUpdate } from "@agentclientprotocol/sdk";
import type { Telegram } from "telegraf";
import { messageThreadIdOf, type TopicKey, threadParam } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { TurnView } from "../runner/types.js";
import { createAnswerPages } from "./answer-pages.js";
import { sendWorkspaceFile } from "./file-sender.js";
import { createFormattedSender, type DraftSupport, type Shown } from "./formatted-send.js";
import type { Page } from "./markdown.js";
import { botApiDescription, botApiErrorCode, type Outbox } from "./outbox.js";
import type { PermissionPrompts } from "./permission-prompts.js";
import { createProgressMessage } from "./progress-message.js";
import { splitText } from "./split-text.js";

/** Options of {@link createStreamRenderer}; durations in ms, lengths in UTF-16 code units. */
export type StreamRendererOptions = {
  telegram: Telegram;
  outbox: Outbox;
  /** The turn's topic key: where the answer goes and who may answer its permission prompts. */
  key: TopicKey;
  /** Private chats stream with sendMessageDraft; groups and forum topics with send + edit. */
  privateChat: boolean;
  drafts: DraftSupport;
  /** Least time between two edits (or drafts) of one message. */
  editIntervalMs: number;
  /** Past this many characters of HTML the stream continues in a new message (≤ 4096). */
  pageLimit: number;
  showThoughts: boolean;
  prompts: PermissionPrompts;
  logger: Logger;
};

/** How often the typing action is renewed until the first text shows, ms (Telegram shows it ~5 s). */
const TYPING_INTERVAL_MS = 4_000;
/** How long the first progress message waits for answer text to go first, ms. */
const PROGRESS_DELAY_MS = 1_000;
/** Global setTimeout (not timers/promises), so fake timers in tests drive the pacing. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Op = { run: () => Promise<void> } | { waitUntil: number } | "idle" | "done";
type OutgoingFile =
  | { kind: "link"; uri: string; name: string }
  | { kind: "image"; data: string; mimeType: string };

/**
 * A {@link TurnView} that streams the agent's answer into its topic as the agent writes it:
 * - forum topics and groups: the first text goes out with sendMessage, later text edits it in place
 *   (editMessageText) at most every `editIntervalMs`; past `pageLimit` the stream continues in a new
 *   message; the last edit carries the complete formatted text;
 * - private chats: sendMessageDraft (Bot API 9.3+) while streaming, then the final message(s);
 *   where drafts fail, send + edit as above.
 * Text is the agent's Markdown as Telegram HTML (plain text where Telegram cannot parse it). Tool
 * calls, the plan (and thoughts, when shown) live in one progress message edited in place. Images
 * and workspace files the agent links are sent along. Every call goes through the chat's
 * {@link Outbox} (budget, order, retries). One loop per turn decides the next Bot API call.
 */
export function createStreamRenderer(options: StreamRendererOptions): TurnView {
  const { telegram, outbox, key, logger } = options;
  const chatId = key.chatId;
  const sender = createFormattedSender({
    telegram,
    outbox,
    chatId,
    threadId: key.threadId,
    drafts: options.drafts,
    logger,
  });
  const answerText = createAnswerPages(options.pageLimit);
  const progressMessage = createProgressMessage(options.showThoughts);

  let final = false;
  let workspacePath: string | undefined;
  const answer: Shown[] = [];
  let draft: { id: number; page: number; shown: string; lastAt: number } | undefined;
  let progress: Shown | undefined;
  const notices: Array<{ text: string; sent: () => void }> = [];
  const files: OutgoingFile[] = [];
  let typingTimer: NodeJS.Timeout | undefined;
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

  const stopTyping = () => {
    clearInterval(typingTimer);
    typingTimer = undefined;
  };
  const typing = () =>
    telegram.sendChatAction(chatId, "typing", threadParam(key.threadId)).catch((err: unknown) => {
      logger.debug({ err, chatId }, "sendChatAction failed");
    });

  async function sendDraft(pageIndex: number, page: Page): Promise<void> {
    if (!draft || draft.page !== pageIndex)
      draft = { id: randomInt(1, 2 ** 31 - 1), page: pageIndex, shown: "", lastAt: 0 };
    const current = draft;
    await sender.draft(current.id, page);
    current.shown = page.html;
    current.lastAt = Date.now();
    stopTyping();
  }

  async function sendFile(file: OutgoingFile): Promise<void> {
    if (file.kind === "image") {
      const source = Buffer.from(file.data, "base64");
      await outbox.send(
        chatId,
        () => telegram.sendPhoto(chatId, { source }, threadParam(key.threadId)),
        "sendPhoto",
      );
      return;
    }
    if (!workspacePath) return;
    const refusal = await sendWorkspaceFile(
      { telegram, outbox },
      { chatId, messageThreadId: messageThreadIdOf(key.threadId) },
      workspacePath,
      file.uri,
    );
    if (refusal) notices.push({ text: refusal, sent: () => {} });
  }

  function noticeOp(): Op | undefined {
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

  /** The next answer page to send or edit, or the earliest time one is due. */
  function answerOp(now: number): Op | number {
    let waitUntil = Number.POSITIVE_INFINITY;
    const all = answerText.pages();
    const drafting = options.privateChat && options.drafts.available && !final;
    for (const [index, page] of all.entries()) {
      const shown = answer[index];
      const isLast = index === all.length - 1;
      if (drafting && isLast && !shown) {
        const due = draft && draft.page === index ? draft.lastAt + options.editIntervalMs : now;
        if (draft?.page === index && draft.shown === page.html) break;
        if (due <= now) return { run: () => sendDraft(index, page) };
        waitUntil = Math.min(waitUntil, due);
        break;
      }
      if (shown && shown.shown === page.html) continue;
      const due = shown ? shown.lastEditAt + options.editIntervalMs : now;
      if (due <= now) return { run: () => postPage(index, page, shown) };
      waitUntil = Math.min(waitUntil, due);
    }
    return waitUntil;
  }

  async function postPage(index: number, page: Page, shown: Shown | undefined): Promise<void> {
    stopTyping();
    try {
      const id = await sender.post(answer[index], page, shown ? "editMessageText" : "sendMessage");
      answer[index] = { id, shown: page.html, lastEditAt: Date.now() };
    } catch (err) {
      if (/message to edit not found/i.test(botApiDescription(err))) {
        answer[index] = { id: undefined, shown: "", lastEditAt: 0 }; // deleted by someone: send anew
        return;
      }
      logger.error({ err, chatId, code: botApiErrorCode(err) }, "could not deliver part of the answer");
      answer[index] = { id: shown?.id, shown: page.html, lastEditAt: Date.now() };
    }
  }

  /**
   * The progress message's next edit, or when it is due. It comes after the answer's text: before
   * any text shows it waits PROGRESS_DELAY_MS, so an answer that follows its tool calls at once is
   * not held up by it.
   */
  function progressOp(now: number): Op | number {
    const text = progressMessage.text();
    if (text === "" || progress?.shown === text) return Number.POSITIVE_INFINITY;
    const textShown = answer.length > 0 || draft !== undefined;
    const due = progress
      ? progress.lastEditAt + options.editIntervalMs
      : textShown || final
        ? now
        : (progressMessage.since() ?? now) + PROGRESS_DELAY_MS;
    if (due > now) return due;
    return {
      run: async () => {
        // A version that cannot be delivered is given up (logged); the next one tries again.
        let id = progress?.id;
        try {
          id = await sender.post(progress, { html: text, plain: text }, "progress");
        } finally {
          progress = { id, shown: text, lastEditAt: Date.now() };
        }
      },
    };
  }

  /** The next Bot API operation, or how long to wait for one. */
  function nextOp(now: number): Op {
    const notice = noticeOp();
    if (notice) return notice;
    const answerNext = answerOp(now);
    if (typeof answerNext !== "number") return answerNext;
    const progressNext = progressOp(now);
    if (typeof progressNext !== "number") return progressNext;
    const waitUntil = Math.min(answerNext, progressNext);
    if (final && waitUntil === Number.POSITIVE_INFINITY) {
      const file = files.shift();
      if (file) return { run: () => sendFile(file) };
      return "done";
    }
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

  const ensurePump = () => {
    pump ??= runPump();
    poke();
    return pump;
  };

  return {
    start(info) {
      workspacePath = info.workspacePath;
      void typing();
      typingTimer = setInterval(() => void typing(), TYPING_INTERVAL_MS);
      void ensurePump();
    },

    update(update: SessionUpdate) {
      switch (update.sessionUpdate) {
        case "agent_message_chunk": {
          const content = update.content;
          if (content.type === "text") answerText.append(content.text);
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

    async finish(outcome) {
      stopTyping();
      answerText.end(outcome);
      final = true;
      await ensurePump();
    },
  };
}
