import type { TurnOutcome } from "../runner/types.js";
import { type Page, paginate, renderMarkdown } from "./markdown.js";

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
 * The answer of one turn as it grows: the agent's Markdown so far plus, at the end, the note on how
 * the turn ended, rendered as Telegram HTML and cut into message-sized pages of at most `pageLimit`
 * characters (UTF-16 code units). Rendering is cached until the text changes.
 */
export function createAnswerPages(pageLimit: number) {
  let markdown = "";
  let firstTextAt: number | undefined;
  let note: string | undefined;
  let cache: { key: string; pages: Page[] } = { key: "", pages: [] };
  return {
    /** Appends agent_message_chunk text. */
    append(text: string): void {
      markdown += text;
      if (firstTextAt === undefined && text.trim() !== "") firstTextAt = Date.now();
    },
    /** When the first text (besides white space) arrived (Date.now()), or undefined. */
    firstTextAt: () => firstTextAt,
    /** Characters of the agent's Markdown so far. */
    length: () => markdown.length,
    /** Whether the agent wrote any text (besides white space). */
    hasText(): boolean {
      return markdown.trim() !== "";
    },
    /** Adds the note on how the turn ended; the pages are final from now on. */
    end(outcome: TurnOutcome): void {
      note = outcomeNote(outcome, this.hasText());
    },
    /** The current pages, in order. */
    pages(): Page[] {
      const text = [markdown.trim(), note].filter((part) => part !== undefined && part !== "").join("\n\n");
      if (cache.key !== text) cache = { key: text, pages: paginate(renderMarkdown(text), pageLimit) };
      return cache.pages;
    },
  };
}

/** The answer text of a turn; see {@link createAnswerPages}. */
export type AnswerPages = ReturnType<typeof createAnswerPages>;
