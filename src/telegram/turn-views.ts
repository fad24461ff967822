import type { Telegram } from "telegraf";
import type { Config } from "../config.js";
import { isPrivateChat } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { TurnViews } from "../runner/types.js";
import { createCommandMenu } from "./agent-command-menu.js";
import { BOT_COMMAND_NAMES, BOT_COMMANDS } from "./commands.js";
import type { DraftSupport } from "./formatted-send.js";
import type { Outbox } from "./outbox.js";
import type { PermissionPrompts } from "./permission-prompts.js";
import { createStreamRenderer } from "./stream-renderer.js";
import { createTopicTitles } from "./topic-titles.js";

/** Below Telegram's 4096: room for the formatting that the last edit adds. */
export const STREAM_PAGE_LIMIT = 3_900;

/**
 * The bot's {@link TurnViews}: each turn streams into its chat and forum topic through a
 * {@link createStreamRenderer} on the shared outbox and permission prompts; whether the server takes
 * sendMessageDraft is learnt once and shared by all of them. The agent's commands go to the chat's
 * command menu (createCommandMenu) and its session titles to the forum topic (createTopicTitles).
 */
export function createTurnViews(deps: {
  telegram: Telegram;
  outbox: Outbox;
  prompts: PermissionPrompts;
  streaming: Config["streaming"];
  logger: Logger;
}): TurnViews {
  const { telegram, outbox, logger } = deps;
  const drafts: DraftSupport = { available: true };
  const richDrafts: DraftSupport = { available: true };
  const isBotCommand = (name: string) => BOT_COMMAND_NAMES.has(name);
  const menu = createCommandMenu({ telegram, outbox, botCommands: BOT_COMMANDS, isBotCommand, logger });
  const titles = createTopicTitles({ telegram, outbox, logger });
  return (key) => {
    const view = createStreamRenderer({
      telegram,
      outbox,
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
      logger,
    });
    return {
      ...view,
      agentCommands: (commands) => menu.update(key.chatId, commands),
      title: (title) => titles.rename(key, title, (line) => void view.notice(line)),
    };
  };
}
