import type { Telegram } from "telegraf";
import type { BotCommand } from "telegraf/types";
import { AGENT_COMMAND_PREFIX, type AgentCommand } from "../domain/agent-commands.js";
import type { Logger } from "../logger.js";
import type { Outbox } from "./outbox.js";

/** Bot API BotCommand.command: 1-32 of a-z, 0-9 and _. */
const MENU_NAME = /^[a-z0-9_]{1,32}$/;
/** Bot API setMyCommands: at most 100 commands, descriptions of 1-256 characters. */
const MENU_MAX = 100;
const DESCRIPTION_MAX = 256;

/** How the user reaches one agent command: the name to send (`agent_<name>` on a clash) and whether it fits the menu. */
export type AgentCommandEntry = AgentCommand & { invoke: string; inMenu: boolean };

/**
 * The agent's commands as the chat reaches them: a command whose name a bot command has keeps the
 * bot's meaning and is reached as `/agent_<name>`; names the Bot API does not allow in the command
 * menu (capitals, dashes, over 32 characters) are still sent as typed but stay out of the menu. Pure.
 */
export function agentCommandEntries(
  commands: readonly AgentCommand[],
  isBotCommand: (name: string) => boolean,
): AgentCommandEntry[] {
  return commands.map((c) => {
    const invoke = isBotCommand(c.name) ? `${AGENT_COMMAND_PREFIX}${c.name}` : c.name;
    return { ...c, invoke, inMenu: MENU_NAME.test(invoke) };
  });
}

/**
 * The prompt text for a message that starts with a `/command` the bot does not handle (ACP "Slash
 * Commands": the agent gets `/name args` as text): an `@botname` suffix naming this bot is dropped,
 * and `/agent_<name>` becomes `/<name>` when the agent offers `<name>`. Pure.
 *
 * @param commandLength the bot_command entity's length (from offset 0).
 */
export function agentPromptText(
  text: string,
  commandLength: number,
  me: string,
  commands: readonly AgentCommand[],
): string {
  const [name = "", to] = text.slice(1, commandLength).split("@");
  if (to !== undefined && to.toLowerCase() !== me.toLowerCase()) return text;
  const rest = text.slice(commandLength);
  const aliased = name.startsWith(AGENT_COMMAND_PREFIX) ? name.slice(AGENT_COMMAND_PREFIX.length) : undefined;
  const real = aliased !== undefined && commands.some((c) => c.name === aliased) ? aliased : name;
  return `/${real}${rest}`;
}

/**
 * The chat's command menu (Bot API setMyCommands with scope `{type: "chat", chat_id}`): the bot's
 * commands, then the agent's once it announced them. Set again only when the agent's commands of
 * that chat change; a failure is logged once per chat (this run) and not retried per update.
 */
export function createCommandMenu(deps: {
  telegram: Telegram;
  outbox: Outbox;
  botCommands: readonly BotCommand[];
  isBotCommand: (name: string) => boolean;
  logger: Logger;
}) {
  const shown = new Map<number, string>();
  const failed = new Set<number>();
  return {
    /** Shows `commands` in the chat's menu after the bot's own (when they changed). Never throws. */
    update(chatId: number, commands: readonly AgentCommand[]): void {
      const agent = agentCommandEntries(commands, deps.isBotCommand)
        .filter((c) => c.inMenu && !deps.botCommands.some((b) => b.command === c.invoke))
        .map((c) => ({
          command: c.invoke,
          description: (c.description.trim() || `The agent's /${c.name}`).slice(0, DESCRIPTION_MAX),
        }));
      const menu = [...deps.botCommands, ...agent].slice(0, MENU_MAX);
      const signature = JSON.stringify(menu);
      if (shown.get(chatId) === signature || failed.has(chatId)) return;
      shown.set(chatId, signature);
      void deps.outbox
        .send(
          chatId,
          () => deps.telegram.setMyCommands(menu, { scope: { type: "chat", chat_id: chatId } }),
          "setMyCommands",
        )
        .catch((err: unknown) => {
          failed.add(chatId);
          shown.delete(chatId);
          deps.logger.warn(
            { err, chatId },
            "setMyCommands for the chat failed; its menu lacks the agent's commands",
          );
        });
    },
  };
}

/** The chat command menus; see {@link createCommandMenu}. */
export type CommandMenu = ReturnType<typeof createCommandMenu>;
