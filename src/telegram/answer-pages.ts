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
 * characters (UTF-16 code units). Only the first `maxChars` characters (MAX_ANSWER_CHARS) are shown
 * in messages; past them a line says the whole answer follows as a document. Rendering is cached
 * until the shown text changes, so a flood costs no more than `maxChars` to render.
 */
export function createAnswerPages(pageLimit: number, maxChars = Number.POSITIVE_INFINITY) {
  let markdown = "";
  let firstTextAt: number | undefined;
  let note: string | undefined;
  let cache: { key: string; pages: Page[] } = { key: "", pages: [] };
  /** The Markdown the messages show: the answer (up to `maxChars`), the overflow line, the note. */
  function text(): string {
    const overflow = markdown.length > maxChars;
    const shown = overflow ? markdown.slice(0, maxChars) : markdown;
    const more = overflow
      ? `_(The answer goes on past ${maxChars.toLocaleString("en")} characters: the whole of it follows as answer.md.)_`
      : undefined;
    return [shown.trim(), more, note].filter((part) => part !== undefined && part !== "").join("\n\n");
  }

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
    /** Whether the answer is longer than what messages show (it goes as a document too). */
    overflows: () => markdown.length > maxChars,
    /** The agent's whole Markdown (for the answer.md document). */
    markdown: () => markdown,
    /** The Markdown the messages show (see `text` above). */
    text,
    /** The current pages, in order. */
    pages(): Page[] {
      const shown = text();
      if (cache.key !== shown) cache = { key: shown, pages: paginate(renderMarkdown(shown), pageLimit) };
      return cache.pages;
    },
  };
}

/** The answer text of a turn; see {@link createAnswerPages}. */
export type AnswerPages = ReturnType<typeof createAnswerPages>;
