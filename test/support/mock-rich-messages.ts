/**
 * Parameter checks of the mock Bot API for rich messages (Bot API 10.1: sendRichMessage,
 * sendRichMessageDraft, editMessageText's `rich_message`), as the reference describes them:
 * InputRichMessage takes exactly one of `html`, `markdown` or `blocks`; a message holds at most
 * 32,768 characters; drafts are for private chats and need a non-zero draft_id.
 * Each function returns the "Bad Request: ..." description the real API would give, or undefined.
 */

const RICH_LIMIT = 32_768;

/** Checks an InputRichMessage object. */
export function inputRichMessageError(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return 'Bad Request: field "rich_message" must be an Object';
  const fields = ["html", "markdown", "blocks"].filter(
    (f) => (value as Record<string, unknown>)[f] !== undefined,
  );
  if (fields.length !== 1) return "Bad Request: exactly one of html, markdown or blocks must be specified";
  const field = fields[0] as string;
  const content = (value as Record<string, unknown>)[field];
  if (field === "blocks")
    return Array.isArray(content) ? undefined : 'Bad Request: field "blocks" must be an Array';
  if (typeof content !== "string") return `Bad Request: field "${field}" must be a String`;
  if (content.trim() === "") return "Bad Request: rich message is empty";
  if (content.length > RICH_LIMIT) return "Bad Request: rich message is too long";
  return undefined;
}

const isInteger = (value: unknown) => typeof value === "number" && Number.isInteger(value);

/** Checks a rich method's payload; `method` is sendRichMessage, sendRichMessageDraft or editMessageText. */
export function richCallError(method: string, payload: Record<string, unknown>): string | undefined {
  if (method === "editMessageText") {
    const hasText = payload.text !== undefined;
    const hasRich = payload.rich_message !== undefined;
    if (hasText === hasRich) return "Bad Request: exactly one of text or rich_message must be specified";
    if (hasRich && payload.parse_mode !== undefined)
      return "Bad Request: parse_mode can't be used with rich_message";
    return hasRich ? inputRichMessageError(payload.rich_message) : undefined;
  }
  if (!isInteger(payload.chat_id) && typeof payload.chat_id !== "string")
    return "Bad Request: chat_id is empty";
  if (payload.text !== undefined || payload.parse_mode !== undefined)
    return `Bad Request: ${method} takes rich_message, not text or parse_mode`;
  if (payload.message_thread_id !== undefined && !isInteger(payload.message_thread_id))
    return 'Bad Request: field "message_thread_id" must be an Integer';
  if (method === "sendRichMessageDraft") {
    if (!isInteger(payload.chat_id) || (payload.chat_id as number) <= 0)
      return "Bad Request: drafts can be sent only to private chats";
    if (!isInteger(payload.draft_id) || payload.draft_id === 0)
      return "Bad Request: draft_id must be non-zero";
  }
  return inputRichMessageError(payload.rich_message);
}
