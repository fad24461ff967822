import { marked, type Tokens } from "marked";
import { splitText } from "./split-text.js";

/** Bot API `InputRichMessage.markdown` limit (sendRichMessage, Bot API 10.1), in UTF-16 code units. */
export const RICH_MESSAGE_LIMIT = 32_768;

/**
 * Splits the agent's Markdown into parts of at most `limit` UTF-16 code units for rich messages, at
 * top-level block boundaries (paragraphs, lists, tables, code blocks, headings as `marked` lexes
 * them). A block longer than `limit` is cut at line breaks (a fenced code block is closed and
 * reopened with its language in every part), an overlong line hard. Parts are trimmed; empty
 * Markdown gives no parts.
 */
export function splitRichMarkdown(markdown: string, limit: number = RICH_MESSAGE_LIMIT): string[] {
  if (markdown.length <= limit) return markdown.trim() === "" ? [] : [markdown.trim()];
  const parts: string[] = [];
  let current = "";
  const flush = () => {
    if (current.trim() !== "") parts.push(current.trim());
    current = "";
  };
  for (const token of marked.lexer(markdown)) {
    const pieces = token.raw.length <= limit ? [token.raw] : splitBlock(token, limit);
    for (const piece of pieces) {
      if (current.length + piece.length > limit) flush();
      current += piece;
    }
  }
  flush();
  return parts;
}

function splitBlock(token: { type: string; raw: string }, limit: number): string[] {
  if (token.type === "code" && /^\s*(`{3,}|~{3,})/.test(token.raw)) {
    const code = token as Tokens.Code;
    const fence = /^\s*(`{3,}|~{3,})/.exec(code.raw)?.[1] ?? "```";
    const open = `${fence}${code.lang ?? ""}\n`;
    const close = `\n${fence}\n\n`;
    const room = Math.max(1, limit - open.length - close.length);
    return splitText(code.text, room).map((part) => `${open}${part}${close}`);
  }
  return splitText(token.raw, limit - 2).map((part) => `${part}\n\n`);
}
