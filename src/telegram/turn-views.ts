import type { Telegram } from "telegraf";
import type { Config } from "../config.js";
import { isPrivateChat } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { TurnViews } from "../runner/types.js";
import type { DraftSupport } from "./formatted-send.js";
import type { Outbox } from "./outbox.js";
import type { PermissionPrompts } from "./permission-prompts.js";
import { createStreamRenderer } from "./stream-renderer.js";

/** Below Telegram's 4096: room for the formatting that the last edit adds. */
export const STREAM_PAGE_LIMIT = 3_900;

/**
 * The bot's {@link TurnViews}: each turn streams into its chat and forum topic through a
 * {@link createStreamRenderer} on the shared outbox and permission prompts; whether the server takes
 * sendMessageDraft is learnt once and shared by all of them.
 */
export function createTurnViews(deps: {
  telegram: Telegram;
  outbox: Outbox;
  prompts: PermissionPrompts;
  streaming: Config["streaming"];
  logger: Logger;
}): TurnViews {
  const drafts: DraftSupport = { available: true };
  const richDrafts: DraftSupport = { available: true };
  return (key) =>
    createStreamRenderer({
      telegram: deps.telegram,
      outbox: deps.outbox,
      key,
      privateChat: isPrivateChat(key.chatId),
      drafts,
      richMessages: deps.streaming.richMessages,
      richDrafts,
      editIntervalMs: deps.streaming.editIntervalMs,
      firstSendMs: deps.streaming.firstSendMs,
      pageLimit: STREAM_PAGE_LIMIT,
      maxAnswerChars: deps.streaming.maxAnswerChars,
      showThoughts: deps.streaming.showThoughts,
      prompts: deps.prompts,
      logger: deps.logger,
    });
}
