import type { AnswerPages } from "./answer-pages.js";
import { type AnswerDelivery, createAnswerStream } from "./answer-stream.js";
import { createRichAnswerStream, type RichAnswerStreamOptions } from "./rich-answer-stream.js";

/** RICH_MESSAGES: off (HTML only), final (finished answers as rich messages), stream (rich all along). */
export type RichMessagesMode = "off" | "final" | "stream";

/** Options of {@link createAnswerDelivery}; durations in ms, lengths in UTF-16 code units. */
export type AnswerDeliveryOptions = Omit<RichAnswerStreamOptions, "pages" | "limit" | "replacing"> & {
  mode: RichMessagesMode;
  pages: AnswerPages;
};

/**
 * The answer's delivery for a RICH_MESSAGES mode:
 * - `off`: the HTML stream (answer-stream.ts);
 * - `stream`: the rich stream (rich-answer-stream.ts) from the first text;
 * - `final`: the HTML stream while the turn runs; once it is over, the answer goes as rich messages:
 *   straight away when no HTML message went out yet (a short answer: one sendRichMessage), otherwise
 *   once the HTML messages show it all, the first is edited into the rich answer and the rest deleted.
 */
export function createAnswerDelivery(options: AnswerDeliveryOptions): AnswerDelivery {
  const rich = (replacing?: number[]) =>
    createRichAnswerStream({ ...options, ...(replacing ? { replacing } : {}) });
  if (options.mode === "stream") return rich();
  const html = createAnswerStream({
    sender: options.html,
    pages: options.pages,
    privateChat: options.privateChat,
    drafts: options.drafts,
    editIntervalMs: options.editIntervalMs,
    firstSendMs: options.firstSendMs,
    chatId: options.chatId,
    logger: options.logger,
    onText: options.onText,
  });
  if (options.mode === "off") return html;

  let final = false;
  let finalRich: AnswerDelivery | undefined;
  const current = (): AnswerDelivery => {
    if (final && !finalRich && options.pages.hasText()) {
      const sent = html.sentIds();
      if (sent.length === 0) finalRich = rich();
      else if (!html.pending()) finalRich = rich(sent);
      finalRich?.end();
    }
    return finalRich ?? html;
  };
  return {
    next: (now) => current().next(now),
    end() {
      final = true;
      return html.end();
    },
    pending: () => current().pending(),
    hasShownText: () => html.hasShownText() || (finalRich?.hasShownText() ?? false),
  };
}
