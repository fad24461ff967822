/** Bot API sendMessage `text` limit, in UTF-16 code units (characters as Telegram counts them). */
export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Splits plain text into parts of at most `limit` UTF-16 code units, preferring a paragraph break,
 * then a line break, then a space, and never cutting a surrogate pair. Joining the parts with the
 * separators they were cut at gives the text back (separators at a cut are dropped).
 * Empty text gives no parts.
 */
export function splitText(text: string, limit: number = TELEGRAM_TEXT_LIMIT): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = -1;
    let skip = 0;
    for (const separator of ["\n\n", "\n", " "]) {
      const at = window.lastIndexOf(separator, limit - (separator.length === 2 ? 1 : 0));
      if (at > limit / 2) {
        cut = at;
        skip = separator.length;
        break;
      }
    }
    if (cut < 0) {
      cut = limit;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // keep a surrogate pair together
    }
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut + skip);
  }
  if (rest.length > 0) parts.push(rest);
  return parts;
}
