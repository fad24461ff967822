import { randomInt } from "node:crypto";
import type { Logger } from "../logger.js";
import type { AnswerPages } from "./answer-pages.js";
import type { DraftSupport, FormattedSender, Shown } from "./formatted-send.js";
import type { Page } from "./markdown.js";
import { botApiDescription, botApiErrorCode } from "./outbox.js";

/** One Bot API step a turn's delivery loop runs next. */
export type Step = { run: () => Promise<void> };

/**
 * How a turn's answer reaches its topic, step by step: the HTML stream below or the rich one
 * (rich-answer-stream.ts). `next` gives the next step or the earliest time one is due (Infinity:
 * none); `end` marks the turn over and returns the outbox key of an edit in flight (to promote);
 * `pending` tells whether some text is not shown yet.
 */
export type AnswerDelivery = {
  next(now: number): Step | number;
  end(): string | undefined;
  pending(): boolean;
  hasShownText(): boolean;
};

/** An answer shorter than this many characters waits for the first-send window before it shows. */
export const FIRST_SEND_CHARS = 300;

/**
 * The delivery of a turn's answer pages: which page to send, edit or show as a draft next, and when.
 * - The first message waits until it has some substance: `firstSendMs` after the first text, or
 *   {@link FIRST_SEND_CHARS} characters, or the end of the turn, whichever comes first; an answer
 *   that is complete by then goes out as one sendMessage (no edit, no draft).
 * - Groups and forum topics: each page is sent once, then edited in place at most every
 *   `editIntervalMs` until it shows the page's latest text. Intermediate edits are queued as
 *   `edit` (coalesced per message, read when they go out); new pages and final texts as `message`.
 * - Private chats with drafts (sendMessageDraft): the last page streams as a draft (a new draft id per
 *   page) until the turn is final; the final text then goes out as messages.
 * A message someone deleted is sent anew; a page that cannot be delivered is logged and given up
 * until its text changes again.
 */
export function createAnswerStream(deps: {
  sender: FormattedSender;
  pages: Pick<AnswerPages, "pages" | "firstTextAt" | "length">;
  privateChat: boolean;
  drafts: DraftSupport;
  editIntervalMs: number;
  /** How long the first message may wait for more text (STREAM_FIRST_SEND_MS). */
  firstSendMs: number;
  chatId: number;
  logger: Logger;
  /** Called before the first text goes out (to stop the typing action). */
  onText: () => void;
  /** Messages already showing the first pages (a rich message falling back to HTML is edited). */
  initial?: Shown[];
}) {
  const answer: Shown[] = [...(deps.initial ?? [])];
  let draft: { id: number; page: number; shown: string; lastAt: number } | undefined;
  /** The outbox key of the edit being delivered, if any (promoted when the turn ends). */
  let inFlight: string | undefined;
  let final = false;

  const pageAt = (index: number, fallback: Page) => () => deps.pages.pages()[index] ?? fallback;

  async function sendDraft(pageIndex: number, page: Page): Promise<void> {
    if (!draft || draft.page !== pageIndex)
      draft = { id: randomInt(1, 2 ** 31 - 1), page: pageIndex, shown: "", lastAt: 0 };
    const current = draft;
    inFlight = `d:${current.id}`;
    try {
      current.shown = (await deps.sender.draft(current.id, pageAt(pageIndex, page))) ?? page.html;
    } finally {
      inFlight = undefined;
    }
    current.lastAt = Date.now();
    deps.onText();
  }

  async function postPage(index: number, page: Page, shown: Shown | undefined): Promise<void> {
    deps.onText();
    const editing = shown?.id !== undefined;
    const key = editing ? `m:${shown?.id}` : undefined;
    inFlight = key;
    try {
      const posted = await deps.sender.post(answer[index], pageAt(index, page), {
        label: editing ? "editMessageText" : "sendMessage",
        priority: editing && !final ? "edit" : "message",
        ...(key ? { key } : {}),
      });
      answer[index] = { id: posted.id, shown: posted.html, lastEditAt: Date.now() };
    } catch (err) {
      if (/message to edit not found/i.test(botApiDescription(err))) {
        answer[index] = { id: undefined, shown: "", lastEditAt: 0 }; // deleted by someone: send anew
        return;
      }
      deps.logger.error(
        { err, chatId: deps.chatId, code: botApiErrorCode(err) },
        "could not deliver part of the answer",
      );
      answer[index] = { id: shown?.id, shown: page.html, lastEditAt: Date.now() };
    } finally {
      inFlight = undefined;
    }
  }

  return {
    /** The next page to send, edit or draft, or the earliest time one is due (Infinity: none). */
    next(now: number): Step | number {
      let waitUntil = Number.POSITIVE_INFINITY;
      const all = deps.pages.pages();
      const firstTextAt = deps.pages.firstTextAt();
      if (!final && answer.length === 0 && draft === undefined && firstTextAt !== undefined) {
        const opensAt = firstTextAt + deps.firstSendMs;
        if (now < opensAt && deps.pages.length() < FIRST_SEND_CHARS) return opensAt;
      }
      const drafting = deps.privateChat && deps.drafts.available && !final;
      for (const [index, page] of all.entries()) {
        const shown = answer[index];
        const isLast = index === all.length - 1;
        if (drafting && isLast && !shown) {
          const due = draft && draft.page === index ? draft.lastAt + deps.editIntervalMs : now;
          if (draft?.page === index && draft.shown === page.html) break;
          if (due <= now) return { run: () => sendDraft(index, page) };
          waitUntil = Math.min(waitUntil, due);
          break;
        }
        if (shown && shown.shown === page.html) continue;
        // Final edits keep the pace too: Telegram refuses edits of one message that come too fast.
        const due = shown ? shown.lastEditAt + deps.editIntervalMs : now;
        if (due <= now) return { run: () => postPage(index, page, shown) };
        waitUntil = Math.min(waitUntil, due);
      }
      return waitUntil;
    },

    /**
     * The turn is over: from now on pages go out as `message` (final texts), and the outbox key of an
     * intermediate edit still waiting is returned, to be promoted.
     */
    end(): string | undefined {
      final = true;
      return inFlight;
    },

    /** Whether a page is not shown in its latest text yet (the answer is not all delivered). */
    pending(): boolean {
      const all = deps.pages.pages();
      return all.some((page, index) => answer[index]?.shown !== page.html);
    },

    /** The ids of the messages sent so far, in page order. */
    sentIds(): number[] {
      return answer.flatMap((shown) => (shown.id === undefined ? [] : [shown.id]));
    },

    /** Whether any answer text has been shown yet (a message or a draft). */
    hasShownText(): boolean {
      return answer.length > 0 || draft !== undefined;
    },
  };
}
