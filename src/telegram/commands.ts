import type { BotCommand } from "telegraf/types";
import { threadParam } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import { agentCommandEntries } from "./agent-command-menu.js";
import { inForum, openForumTopic, registerAgentSessions } from "./agent-sessions-command.js";
import { sendWorkspaceFile } from "./file-sender.js";
import { registerModelCommand } from "./model-command.js";
import type { Outbox } from "./outbox.js";
import type { Reply } from "./replies.js";
import { type Router, withTopic } from "./router.js";
import { registerSettingsCommands } from "./settings-command.js";
import { statusText } from "./status-text.js";

/** The command menu (Bot API setMyCommands). */
export const BOT_COMMANDS: BotCommand[] = [
  { command: "new", description: "Start a fresh agent session in this topic" },
  { command: "model", description: "Show or choose the model for this topic" },
  { command: "settings", description: "The agent's settings for this topic (mode, effort...)" },
  { command: "mode", description: "Show or choose the agent's mode for this topic" },
  { command: "effort", description: "Show or choose the agent's effort for this topic" },
  { command: "cancel", description: "Stop the running turn and drop queued messages" },
  { command: "status", description: "Agent, session, model, workspace and state of this topic" },
  { command: "sessions", description: "Your sessions in this chat (/sessions agent: the agent's own)" },
  { command: "fork", description: "Fork this topic's session into a new topic" },
  {
    command: "schedule",
    description: "Run a prompt here later: /schedule in 10m <prompt>, or a time or cron",
  },
  { command: "schedules", description: "Your scheduled prompts in this topic, with cancel buttons" },
  { command: "help", description: "What this bot does and its commands" },
];

/** Every command the bot itself answers (the menu's, /start and /get): an agent command of the same name is `/agent_<name>`. */
export const BOT_COMMAND_NAMES: ReadonlySet<string> = new Set([
  ...BOT_COMMANDS.map((c) => c.command),
  "start",
  "get",
]);

/**
 * Registers /new, /model, /cancel, /status, /sessions, /help (and /start) and /get. Commands are
 * answered at once (never queued behind a turn) in the topic they came from, with or without an
 * @botname suffix, in forum topics, the General topic and private chats. They act through the
 * runner only.
 */
export function registerCommands(
  router: Router,
  deps: {
    runner: Runner;
    outbox: Outbox;
    reply: Reply;
    agentCommand: string;
    /** NEW_OPENS_TOPIC: /new in a forum group opens a new forum topic. */
    newOpensTopic?: boolean;
    logger: Logger;
  },
): void {
  const { runner, reply } = deps;

  router.command(
    "new",
    withTopic(async (ctx, topic) => {
      if (deps.newOpensTopic && inForum(ctx)) {
        const name = "New session";
        const opened = await openForumTopic(
          ctx,
          topic.key,
          name,
          "🆕 A fresh agent session: write here.",
        ).catch((err: unknown) => {
          deps.logger.warn({ err }, "createForumTopic failed");
          return undefined;
        });
        if (!opened) {
          await reply(
            ctx,
            "⚠️ Could not open a new topic (can the bot manage topics here?); nothing changed.",
            threadParam(topic.key.threadId),
          );
          return;
        }
        await reply(
          ctx,
          `🆕 The fresh session is in the new topic "${name}"; this topic keeps its own.`,
          threadParam(topic.key.threadId),
        );
        return;
      }
      await runner.resetSession(topic.key);
      const busy = (await runner.status(topic.key)).runningForMs !== undefined;
      await reply(
        ctx,
        `🆕 The next message in this topic starts a new agent session; the workspace and the model stay.${
          busy ? " The running turn finishes first (/cancel stops it)." : ""
        }`,
        threadParam(topic.key.threadId),
      );
    }),
  );

  registerModelCommand(router, { runner, reply, logger: deps.logger });
  registerSettingsCommands(router, { runner, reply, logger: deps.logger });

  router.command(
    "cancel",
    withTopic(async (ctx, topic) => {
      const { cancelledRunning, stoppedDelivery, dropped } = await runner.cancel(topic.key);
      const parts: string[] = [];
      if (cancelledRunning) parts.push("⏹ Cancelling the running turn.");
      else if (stoppedDelivery)
        parts.push("⏹ Stopped posting the answer; the whole of it follows as answer.md.");
      if (dropped > 0) parts.push(`Dropped ${dropped} queued message${dropped === 1 ? "" : "s"}.`);
      await reply(
        ctx,
        parts.length > 0 ? parts.join(" ") : "Nothing to cancel: the agent is idle.",
        threadParam(topic.key.threadId),
      );
    }),
  );

  router.command(
    "status",
    withTopic(async (ctx, topic) => {
      const status = await runner.status(topic.key);
      await reply(ctx, statusText(deps.agentCommand, status), threadParam(topic.key.threadId));
    }),
  );

  const agentSessions = registerAgentSessions(router, { runner, reply, logger: deps.logger });
  router.command(
    "sessions",
    withTopic(async (ctx, topic, args) => {
      if (args === "agent") return agentSessions.show(ctx, topic);
      const rows = await runner.listSessions(topic.key.chatId, topic.key.userId);
      const extra = threadParam(topic.key.threadId);
      if (rows.length === 0) {
        await reply(ctx, "You have no sessions in this chat yet.", extra);
        return;
      }
      const lines = rows.map((row) => {
        const where = row.threadId === 0 ? "no topic" : `topic ${row.threadId}`;
        const here = row.threadId === topic.key.threadId ? " (here)" : "";
        const session = row.sessionId ? `session ${row.sessionId.slice(0, 8)}…` : "no session yet";
        return `• ${where}${here}: last active ${row.updatedAt.replace("T", " ").slice(0, 16)} UTC, model ${row.model}, ${session}`;
      });
      await reply(ctx, `Your sessions in this chat, newest first:\n${lines.join("\n")}`, extra);
    }),
  );

  const help = withTopic(async (ctx, topic) => {
    const commands = BOT_COMMANDS.map((c) => `/${c.command} — ${c.description}`).join("\n");
    const agent = agentCommandEntries(runner.agentCommands(topic.key), (name) => BOT_COMMAND_NAMES.has(name));
    const agentLines = agent.map(
      (c) => `/${c.invoke}${c.hint ? ` <${c.hint}>` : ""}${c.description ? ` — ${c.description}` : ""}`,
    );
    await reply(
      ctx,
      `Every message in a topic goes to a coding agent (${deps.agentCommand}) that answers here. ` +
        `Each topic has its own session, workspace and model; conversations survive restarts.\n\n${commands}` +
        (agentLines.length > 0
          ? `\n\nThe agent's own commands (sent to it as you type them):\n${agentLines.join("\n")}`
          : ""),
      threadParam(topic.key.threadId),
    );
  });
  router.command("help", help);
  router.command("start", help);

  router.command(
    "get",
    withTopic(async (ctx, topic, requested) => {
      if (requested === "") {
        await reply(ctx, "Usage: /get <path inside this topic's workspace>");
        return;
      }
      const workspace = await runner.workspaceFor(topic.key);
      const refusal = await sendWorkspaceFile(
        { telegram: ctx.telegram, outbox: deps.outbox },
        { chatId: topic.key.chatId, messageThreadId: topic.messageThreadId },
        workspace,
        requested,
      );
      if (refusal) await reply(ctx, refusal);
    }),
  );
}
