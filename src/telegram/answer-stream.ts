import { randomInt } from "node:crypto";
import type { Logger } from "../logger.js";
import type { AnswerPages } from "./answer-pages.js";
import type { DraftSupport, FormattedSender, Shown } from "./formatted-send.js";
import type { Page } from "./markdown.js";
import { botApiDescription, botApiErrorCode } from "./outbox.js";

/** One Bot API step a turn's delivery loop runs next. */
export type Step = { run: () => Promise<void> };

/**
 * The delivery of a turn's answer pages: which page to send, edit or show as a draft next, and when.
 * - Groups and forum topics: each page is sent once, then edited in place at most every
 *   `editIntervalMs` until it shows the page's latest text.
 * - Private chats with drafts (sendMessageDraft): the last page streams as a draft (a new draft id per
 *   page) until the turn is final; the final text then goes out as messages.
 * A message someone deleted is sent anew; a page that cannot be delivered is logged and given up
 * until its text changes again.
 */
export function createAnswerStream(deps: {
  sender: FormattedSender;
  pages: AnswerPages;
  privateChat: boolean;
  drafts: DraftSupport;
  editIntervalMs: number;
  chatId: number;
  logger: Logger;
  /** Called before the first text goes out (to stop the typing action). */
  onText: () => void;
}) {
  const answer: Shown[] = [];
  let draft: { id: number; page: number; shown: string; lastAt: number } | undefined;

  async function sendDraft(pageIndex: number, page: Page): Promise<void> {
    if (!draft || draft.page !== pageIndex)
      draft = { id: randomInt(1, 2 ** 31 - 1), page: pageIndex, shown: "", lastAt: 0 };
    const current = draft;
    await deps.sender.draft(current.id, page);
    current.shown = page.html;
    current.lastAt = Date.now();
    deps.onText();
  }

  async function postPage(index: number, page: Page, shown: Shown | undefined): Promise<void> {
    deps.onText();
    try {
      const id = await deps.sender.post(answer[index], page, shown ? "editMessageText" : "sendMessage");
      answer[index] = { id, shown: page.html, lastEditAt: Date.now() };
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
    }
  }

  return {
    /** The next page to send, edit or draft, or the earliest time one is due (Infinity: none). */
    next(now: number, final: boolean): Step | number {
      let waitUntil = Number.POSITIVE_INFINITY;
      const all = deps.pages.pages();
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
        const due = shown ? shown.lastEditAt + deps.editIntervalMs : now;
        if (due <= now) return { run: () => postPage(index, page, shown) };
        waitUntil = Math.min(waitUntil, due);
      }
      return waitUntil;
    },

    /** Whether any answer text has been shown yet (a message or a draft). */
    hasShownText(): boolean {
      return answer.length > 0 || draft !== undefined;
    },
  };
}
