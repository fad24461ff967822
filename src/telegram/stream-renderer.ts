import { randomInt } from "node:crypto";
import type { PlanEntry, SessionUpdate, ToolCallStatus } from "@agentclientprotocol/sdk";
import type { Telegram } from "telegraf";
import type { Logger } from "../logger.js";
import type { TurnOutcome, TurnView } from "../runner.js";
import { sendWorkspaceFile } from "./file-sender.js";
import { type Page, paginate, renderMarkdown } from "./markdown.js";
import { botApiDescription, botApiErrorCode, type Outbox } from "./outbox.js";
import type { PermissionPrompts } from "./permission-prompts.js";
import { splitText } from "./split-text.js";

/** Whether the Bot API server answers sendMessageDraft (Bot API 9.3+); shared by all renderers. */
export type DraftSupport = { available: boolean };

/** Options of {@link createStreamRenderer}; durations in ms, lengths in UTF-16 code units. */
export type StreamRendererOptions = {
  telegram: Telegram;
  outbox: Outbox;
  chatId: number;
  messageThreadId: number | undefined;
  ownerUserId: number;
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
const TOOL_LINES_SHOWN = 15;
/** How long the first progress message waits for answer text to go first, ms. */
const PROGRESS_DELAY_MS = 1_000;
/** First line of the progress message (tool calls, plan, thoughts). */
export const PROGRESS_HEADER = "⚙️ Progress";
const STATUS_ICON: Record<ToolCallStatus, string> = {
  pending: "⏳",
  in_progress: "🔄",
  completed: "✅",
  failed: "❌",
};
/** Global setTimeout (not timers/promises), so fake timers in tests drive the pacing. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const PLAN_ICON: Record<PlanEntry["status"], string> = { pending: "☐", in_progress: "◐", completed: "☑" };

type Shown = { id: number | undefined; shown: string; lastEditAt: number };
type Op = { run: () => Promise<void> } | { waitUntil: number } | "idle" | "done";
type OutgoingFile =
  | { kind: "link"; uri: string; name: string }
  | { kind: "image"; data: string; mimeType: string };

/** The Markdown line appended to the answer for how the turn ended (none for a normal end). */
export function outcomeNote(outcome: TurnOutcome, hasText: boolean): string | undefined {
  switch (outcome.kind) {
    case "cancelled":
      return "⏹ Cancelled.";
    case "interrupted":
      return "⏹ Interrupted: the bot is shutting down. You can retry this prompt when it is back.";
    case "failed":
      return `⚠️ The agent could not answer: ${outcome.reason}.`;
    case "answered": {
      const reason = outcome.result.stopReason;
      if (reason === "end_turn") return hasText ? undefined : "_(The agent finished without a text answer.)_";
      return `_(Stopped: ${reason.replaceAll("_", " ")}.)_`;
    }
  }
}

/**
 * A {@link TurnView} that streams the agent's answer into its topic as the agent writes it:
 * - forum topics and groups: the first text goes out with sendMessage, later text edits it in place
 *   (editMessageText) at most every `editIntervalMs`; past `pageLimit` the stream continues in a new
 *   message; the last edit carries the complete formatted text;
 * - private chats: sendMessageDraft (Bot API 9.3+, through callApi) while streaming, then the final
 *   message(s); where drafts fail, send + edit as above.
 * Text is the agent's Markdown as Telegram HTML; "can't parse entities" resends it as plain text and
 * "message is not modified" counts as done. Tool calls, the plan (and thoughts, when shown) live in
 * one progress message edited in place. Images and workspace files the agent links are sent along.
 * Every call goes through the chat's {@link Outbox} (budget, order, retries).
 */
export function createStreamRenderer(options: StreamRendererOptions): TurnView {
  const { telegram, outbox, chatId, logger } = options;
  const thread = options.messageThreadId === undefined ? {} : { message_thread_id: options.messageThreadId };
  const noPreview = { link_preview_options: { is_disabled: true } };

  let markdown = "";
  let note: string | undefined;
  let final = false;
  let workspacePath: string | undefined;
  const answer: Shown[] = [];
  let draft: { id: number; page: number; shown: string; lastAt: number } | undefined;
  let progress: Shown | undefined;
  const tools = new Map<string, { title: string; status: ToolCallStatus }>();
  let plan: PlanEntry[] = [];
  /** When the first tool call, plan or thought arrived, ms. */
  let progressSince: number | undefined;
  let thought = "";
  const notices: Array<{ text: string; sent: () => void }> = [];
  const files: OutgoingFile[] = [];
  let pages: { key: string; pages: Page[] } = { key: "", pages: [] };
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
    telegram.sendChatAction(chatId, "typing", thread).catch((err: unknown) => {
      logger.debug({ err, chatId }, "sendChatAction failed");
    });

  function currentPages(): Page[] {
    const text = [markdown.trim(), note].filter((part) => part !== undefined && part !== "").join("\n\n");
    if (pages.key !== text) pages = { key: text, pages: paginate(renderMarkdown(text), options.pageLimit) };
    return pages.pages;
  }

  function progressText(): string {
    const lines: string[] = [];
    if (tools.size === 0 && plan.length === 0 && !(options.showThoughts && thought.trim() !== "")) return "";
    lines.push(PROGRESS_HEADER);
    const entries = [...tools.values()];
    if (entries.length > TOOL_LINES_SHOWN)
      lines.push(`… ${entries.length - TOOL_LINES_SHOWN} earlier tool calls`);
    for (const tool of entries.slice(-TOOL_LINES_SHOWN))
      lines.push(`${STATUS_ICON[tool.status]} ${tool.title}`);
    if (plan.length > 0) {
      lines.push("📋 Plan");
      for (const entry of plan) lines.push(`${PLAN_ICON[entry.status]} ${entry.content}`);
    }
    if (options.showThoughts && thought.trim() !== "") lines.push(`💭 ${thought.trim().slice(-300)}`);
    return splitText(lines.join("\n"), 4000)[0] ?? "";
  }

  /** Sends or edits HTML; falls back to plain text when Telegram cannot parse it. */
  async function post(target: Shown | undefined, page: Page, label: string): Promise<number | undefined> {
    const attempt = async (asHtml: boolean) => {
      const text = asHtml ? page.html : page.plain;
      const format = asHtml ? { parse_mode: "HTML" as const } : {};
      if (target?.id === undefined) {
        const sent = await outbox.send(
          chatId,
          () => telegram.sendMessage(chatId, text, { ...thread, ...noPreview, ...format }),
          label,
        );
        return sent.message_id;
      }
      const id = target.id;
      await outbox.send(
        chatId,
        () => telegram.editMessageText(chatId, id, undefined, text, { ...noPreview, ...format }),
        label,
      );
      return id;
    };
    try {
      return await attempt(page.html !== page.plain);
    } catch (err) {
      const description = botApiDescription(err);
      if (/message is not modified/i.test(description)) return target?.id;
      if (/can't parse entities/i.test(description)) {
        logger.warn({ chatId, description }, "Telegram could not parse the HTML; sending plain text");
        return attempt(false);
      }
      throw err;
    }
  }

  async function sendDraft(pageIndex: number, page: Page): Promise<void> {
    if (!draft || draft.page !== pageIndex)
      draft = { id: randomInt(1, 2 ** 31 - 1), page: pageIndex, shown: "", lastAt: 0 };
    const current = draft;
    const payload = (asHtml: boolean) => ({
      chat_id: chatId,
      draft_id: current.id,
      text: asHtml ? page.html : page.plain,
      ...(asHtml ? { parse_mode: "HTML" } : {}),
      ...thread,
    });
    const call = (asHtml: boolean) =>
      outbox.send(
        chatId,
        () => telegram.callApi("sendMessageDraft" as never, payload(asHtml) as never),
        "sendMessageDraft",
      );
    try {
      await call(true).catch((err: unknown) => {
        if (/can't parse entities/i.test(botApiDescription(err))) return call(false);
        throw err;
      });
    } catch (err) {
      // An older Bot API server (or a chat without drafts): stream with send + edit from now on.
      options.drafts.available = false;
      logger.warn({ err, chatId }, "sendMessageDraft failed; streaming with send and edit instead");
    }
    current.shown = page.html;
    current.lastAt = Date.now();
    stopTyping();
  }

  async function sendFile(file: OutgoingFile): Promise<void> {
    if (file.kind === "image") {
      const source = Buffer.from(file.data, "base64");
      await outbox.send(chatId, () => telegram.sendPhoto(chatId, { source }, thread), "sendPhoto");
      return;
    }
    if (!workspacePath) return;
    const refusal = await sendWorkspaceFile(
      { telegram, outbox },
      { chatId, messageThreadId: options.messageThreadId },
      workspacePath,
      file.uri,
    );
    if (refusal) notices.push({ text: refusal, sent: () => {} });
  }

  /** The next Bot API operation, or how long to wait for one. */
  function nextOp(now: number): Op {
    const notice = notices.shift();
    if (notice) {
      return {
        run: async () => {
          try {
            for (const part of splitText(notice.text)) {
              await outbox.send(
                chatId,
                () => telegram.sendMessage(chatId, part, { ...thread, ...noPreview }),
                "notice",
              );
            }
          } finally {
            notice.sent();
          }
        },
      };
    }
    let waitUntil = Number.POSITIVE_INFINITY;

    const all = currentPages();
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
      if (due <= now) {
        return {
          run: async () => {
            stopTyping();
            try {
              const id = await post(answer[index], page, shown ? "editMessageText" : "sendMessage");
              answer[index] = { id, shown: page.html, lastEditAt: Date.now() };
            } catch (err) {
              if (/message to edit not found/i.test(botApiDescription(err))) {
                answer[index] = { id: undefined, shown: "", lastEditAt: 0 }; // deleted by someone: send anew
                return;
              }
              logger.error(
                { err, chatId, code: botApiErrorCode(err) },
                "could not deliver part of the answer",
              );
              answer[index] = { id: shown?.id, shown: page.html, lastEditAt: Date.now() };
            }
          },
        };
      }
      waitUntil = Math.min(waitUntil, due);
    }

    // The progress message comes after the answer's text: before any text shows, it waits
    // PROGRESS_DELAY_MS, so an answer that follows its tool calls at once is not held up by it.
    const progressNow = progressText();
    if (progressNow !== "" && progress?.shown !== progressNow) {
      const textShown = answer.length > 0 || draft !== undefined;
      const due = progress
        ? progress.lastEditAt + options.editIntervalMs
        : textShown || final
          ? now
          : (progressSince ?? now) + PROGRESS_DELAY_MS;
      if (due <= now) {
        return {
          run: async () => {
            // A version that cannot be delivered is given up (logged); the next one tries again.
            let id = progress?.id;
            try {
              id = await post(progress, { html: progressNow, plain: progressNow }, "progress");
            } finally {
              progress = { id, shown: progressNow, lastEditAt: Date.now() };
            }
          },
        };
      }
      waitUntil = Math.min(waitUntil, due);
    }

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
          if (content.type === "text") markdown += content.text;
          else if (content.type === "image")
            files.push({ kind: "image", data: content.data, mimeType: content.mimeType });
          else if (content.type === "resource_link")
            files.push({ kind: "link", uri: content.uri, name: content.name });
          break;
        }
        case "agent_thought_chunk":
          if (options.showThoughts && update.content.type === "text") thought += update.content.text;
          break;
        case "tool_call":
          tools.set(update.toolCallId, { title: update.title, status: update.status ?? "pending" });
          break;
        case "tool_call_update": {
          const known = tools.get(update.toolCallId);
          tools.set(update.toolCallId, {
            title: update.title ?? known?.title ?? update.kind ?? "tool call",
            status: update.status ?? known?.status ?? "pending",
          });
          break;
        }
        case "plan":
          plan = update.entries;
          break;
        default:
          return;
      }
      if (update.sessionUpdate !== "agent_message_chunk") progressSince ??= Date.now();
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
        { chatId, messageThreadId: options.messageThreadId, ownerUserId: options.ownerUserId },
        request,
        signal,
      ),

    async finish(outcome) {
      stopTyping();
      note = outcomeNote(outcome, markdown.trim() !== "");
      final = true;
      await ensurePump();
    },
  };
}
