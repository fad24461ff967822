import { randomInt } from "node:crypto";
import type { Logger } from "../logger.js";
import type { AnswerPages } from "./answer-pages.js";
import { type AnswerDelivery, createAnswerStream, FIRST_SEND_CHARS, type Step } from "./answer-stream.js";
import type { DraftSupport, FormattedSender } from "./formatted-send.js";
import { type Page, paginate, renderMarkdown } from "./markdown.js";
import { botApiDescription, botApiErrorCode } from "./outbox.js";
import { RICH_MESSAGE_LIMIT, splitRichMarkdown } from "./rich-markdown.js";
import type { RichSender } from "./rich-send.js";

/** One rich message of the answer: sent (id) or not, what it shows, or its HTML fallback. */
type Slot = {
  id: number | undefined;
  shown: string;
  lastEditAt: number;
  draft?: { id: number; shown: string; lastAt: number };
  fallback?: AnswerDelivery;
};

/** Options of {@link createRichAnswerStream}; durations in ms, lengths in UTF-16 code units. */
export type RichAnswerStreamOptions = {
  rich: RichSender;
  /** The HTML sender a refused rich message falls back to. */
  html: FormattedSender;
  pages: Pick<AnswerPages, "text" | "firstTextAt" | "length">;
  privateChat: boolean;
  /** Whether sendMessageDraft works (for HTML fallbacks) and sendRichMessageDraft works. */
  drafts: DraftSupport;
  richDrafts: DraftSupport;
  editIntervalMs: number;
  firstSendMs: number;
  /** HTML page size of a fallback (≤ 4096). */
  pageLimit: number;
  /** Rich message size, default {@link RICH_MESSAGE_LIMIT}. */
  limit?: number;
  /**
   * RICH_MESSAGES=final after HTML messages went out: these messages show the answer already; the
   * first is edited into the first rich message, the others are deleted once the rich answer is
   * complete. A refused first edit keeps the HTML messages as they are.
   */
  replacing?: number[];
  chatId: number;
  logger: Logger;
  onText: () => void;
};

/**
 * The answer as rich messages (Bot API 10.1 sendRichMessage, rich editMessageText and
 * sendRichMessageDraft), from the agent's Markdown, which Telegram renders (tables, headings, lists):
 * - cut at block boundaries into messages of at most 32,768 characters;
 * - while the turn runs: in private chats the last message streams as a rich draft (while rich drafts
 *   work), elsewhere it is sent and then edited in place at most every `editIntervalMs`; the first
 *   message waits for substance as in the HTML stream;
 * - a rich call Telegram refuses makes that one message fall back to today's HTML path (an HTML
 *   stream of its Markdown, the message already sent edited into HTML), so the text is never lost.
 * A stream made at the end of a turn (`end` before the first `next`) sends only final messages.
 */
export function createRichAnswerStream(options: RichAnswerStreamOptions): AnswerDelivery {
  const limit = options.limit ?? RICH_MESSAGE_LIMIT;
  const slots: Slot[] = [];
  const toDelete = [...(options.replacing ?? []).slice(1)];
  let cache = { key: "\u0000", parts: [] as string[] };
  let final = false;
  let gaveUp = false;
  let inFlight: string | undefined;
  const parts = () => {
    const text = options.pages.text();
    if (cache.key !== text) cache = { key: text, parts: splitRichMarkdown(text, limit) };
    return cache.parts;
  };
  const partAt = (index: number, fallback: string) => () => parts()[index] ?? fallback;
  const slotAt = (index: number): Slot => {
    slots[index] ??= {
      id: index === 0 ? options.replacing?.[0] : undefined,
      shown: "",
      lastEditAt: 0,
    };
    return slots[index];
  };

  function fallBack(index: number, slot: Slot, err: unknown): void {
    if (options.replacing && index === 0) {
      gaveUp = true;
      options.logger.warn(
        { err, chatId: options.chatId, description: botApiDescription(err) },
        "Telegram refused the rich message; the answer stays as HTML",
      );
      return;
    }
    options.logger.warn(
      { err, chatId: options.chatId, description: botApiDescription(err) },
      "Telegram refused a rich message; sending that part as HTML",
    );
    const pages = { cached: "", rendered: [] as Page[] };
    const slotPages = () => {
      const markdown = parts()[index] ?? "";
      if (pages.cached !== markdown)
        Object.assign(pages, {
          cached: markdown,
          rendered: paginate(renderMarkdown(markdown), options.pageLimit),
        });
      return pages.rendered;
    };
    slot.fallback = createAnswerStream({
      sender: options.html,
      pages: { pages: slotPages, firstTextAt: () => 0, length: () => (parts()[index] ?? "").length },
      privateChat: options.privateChat,
      drafts: options.drafts,
      editIntervalMs: options.editIntervalMs,
      firstSendMs: 0,
      chatId: options.chatId,
      logger: options.logger,
      onText: options.onText,
      initial: slot.id === undefined ? [] : [{ id: slot.id, shown: "", lastEditAt: slot.lastEditAt }],
    });
    if (final) slot.fallback.end();
  }

  async function post(index: number, markdown: string): Promise<void> {
    const slot = slotAt(index);
    options.onText();
    const read = partAt(index, markdown);
    const editing = slot.id !== undefined;
    inFlight = editing ? `m:${slot.id}` : undefined;
    try {
      if (slot.id === undefined) {
        const sent = await options.rich.send(read, { label: "sendRichMessage", priority: "message" });
        slot.id = sent.id;
        slot.shown = sent.shown;
      } else {
        slot.shown = await options.rich.edit(slot.id, read, {
          label: "editMessageText (rich)",
          priority: final ? "message" : "edit",
          key: `m:${slot.id}`,
        });
      }
      slot.lastEditAt = Date.now();
    } catch (err) {
      if (editing && /message to edit not found/i.test(botApiDescription(err))) {
        Object.assign(slot, { id: undefined, shown: "", lastEditAt: 0 }); // deleted by someone: send anew
        return;
      }
      fallBack(index, slot, err);
    } finally {
      inFlight = undefined;
    }
  }

  async function draft(index: number, markdown: string): Promise<void> {
    const slot = slotAt(index);
    slot.draft ??= { id: randomInt(1, 2 ** 31 - 1), shown: "", lastAt: 0 };
    const current = slot.draft;
    inFlight = `d:${current.id}`;
    try {
      current.shown = await options.rich.draft(current.id, partAt(index, markdown));
      options.onText();
    } catch (err) {
      // Rich drafts refused (an older server or client): rich messages with edits from now on.
      options.richDrafts.available = false;
      options.logger.warn(
        { err, chatId: options.chatId, code: botApiErrorCode(err) },
        "sendRichMessageDraft failed; streaming rich messages with send and edit instead",
      );
    } finally {
      inFlight = undefined;
      current.lastAt = Date.now();
    }
  }

  const removeStep = (): Step | undefined => {
    const id = toDelete.shift();
    if (id === undefined) return undefined;
    return {
      run: () =>
        options.rich.remove(id).catch((err: unknown) => {
          options.logger.warn(
            { err, chatId: options.chatId, messageId: id, code: botApiErrorCode(err) },
            "could not delete an HTML message the rich answer replaced",
          );
        }),
    };
  };

  function pending(): boolean {
    if (gaveUp) return false;
    return parts().some((markdown, index) => {
      const slot = slots[index];
      if (slot?.fallback) return slot.fallback.pending();
      return slot?.id === undefined || slot.shown !== markdown;
    });
  }

  const shownNow = () =>
    slots.some((s) => s.id !== undefined || s.draft !== undefined || s.fallback?.hasShownText());

  return {
    next(now: number): Step | number {
      if (gaveUp) return Number.POSITIVE_INFINITY;
      const firstTextAt = options.pages.firstTextAt();
      if (!final && !shownNow() && firstTextAt !== undefined) {
        const opensAt = firstTextAt + options.firstSendMs;
        if (now < opensAt && options.pages.length() < FIRST_SEND_CHARS) return opensAt;
      }
      let waitUntil = Number.POSITIVE_INFINITY;
      const all = parts();
      const drafting = options.privateChat && options.richDrafts.available && !final;
      for (const [index, markdown] of all.entries()) {
        const slot = slotAt(index);
        if (slot.fallback) {
          const step = slot.fallback.next(now);
          if (typeof step !== "number") return step;
          waitUntil = Math.min(waitUntil, step);
          continue;
        }
        if (drafting && index === all.length - 1 && slot.id === undefined) {
          if (slot.draft?.shown === markdown) break;
          const due = slot.draft ? slot.draft.lastAt + options.editIntervalMs : now;
          if (due <= now) return { run: () => draft(index, markdown) };
          waitUntil = Math.min(waitUntil, due);
          break;
        }
        if (slot.id !== undefined && slot.shown === markdown) continue;
        const due = slot.id !== undefined ? slot.lastEditAt + options.editIntervalMs : now;
        if (due <= now) return { run: () => post(index, markdown) };
        waitUntil = Math.min(waitUntil, due);
      }
      if (final && waitUntil === Number.POSITIVE_INFINITY && !pending()) return removeStep() ?? waitUntil;
      return waitUntil;
    },

    end(): string | undefined {
      final = true;
      for (const slot of slots) slot.fallback?.end();
      return inFlight;
    },

    pending,

    hasShownText: shownNow,
  };
}
