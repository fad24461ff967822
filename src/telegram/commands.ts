import type { Context } from "telegraf";
import type { BotCommand, InlineKeyboardButton } from "telegraf/types";
import { AgentTurnError } from "../acp/acp-client.js";
import type { ModelCatalog } from "../acp/model-catalog.js";
import { type AgentModels, AUTO_MODEL } from "../acp/models.js";
import type { SessionStore, TopicKey } from "../db/session-store.js";
import type { Logger } from "../logger.js";
import type { Runner, TopicStatus } from "../runner.js";
import type { ActionContext, Router } from "./router.js";
import { type MessageTopic, topicOf } from "./topic.js";

/** The command menu (Bot API setMyCommands). */
export const BOT_COMMANDS: BotCommand[] = [
  { command: "new", description: "Start a fresh agent session in this topic" },
  { command: "model", description: "Show or choose the model for this topic" },
  { command: "cancel", description: "Stop the running turn and drop queued messages" },
  { command: "status", description: "Agent, session, model, workspace and state of this topic" },
  { command: "sessions", description: "Your sessions in this chat" },
  { command: "help", description: "What this bot does and its commands" },
];

/** callback_data prefix of /model buttons: `m:<model id>` or `mi:<index>` for long ids (≤ 64 bytes). */
export const MODEL_CALLBACK_PREFIX = "m:";
const MODEL_INDEX_PREFIX = "mi:";

/**
 * Registers /new, /model, /cancel, /status, /sessions and /help (and /start), and the /model buttons. Commands
 * are answered at once (never queued behind a turn) in the topic they came from, with or without
 * an @botname suffix, in forum topics, the General topic and private chats.
 */
export function registerCommands(
  router: Router,
  deps: { store: SessionStore; runner: Runner; models: ModelCatalog; agentCommand: string; logger: Logger },
): void {
  const { store, runner, logger } = deps;

  /** Replies in the message's topic (Telegraf adds message_thread_id for topic messages). */
  const withTopic = (handler: (ctx: Context, topic: MessageTopic, args: string) => Promise<unknown>) => {
    return async (ctx: Context) => {
      const message = ctx.message;
      if (!message || !("text" in message)) return;
      const topic = topicOf(message);
      if (!topic) return;
      const args = message.text.replace(/^\/\S+\s*/, "").trim();
      await handler(ctx, topic, args);
    };
  };
  const thread = (topic: MessageTopic) =>
    topic.messageThreadId === undefined ? {} : { message_thread_id: topic.messageThreadId };

  router.command(
    "new",
    withTopic(async (ctx, topic) => {
      store.clearSession(topic.key);
      const busy = runner.status(topic.key).runningForMs !== undefined;
      await ctx.reply(
        `🆕 The next message in this topic starts a new agent session; the workspace and the model stay.${
          busy ? " The running turn finishes first (/cancel stops it)." : ""
        }`,
        thread(topic),
      );
    }),
  );

  router.command(
    "model",
    withTopic(async (ctx, topic, args) => {
      let models: AgentModels | undefined;
      try {
        models = await deps.models.get();
      } catch (err) {
        logger.warn({ err }, "could not list the agent's models");
        const reason = err instanceof AgentTurnError ? err.message : "see the bot's log";
        await ctx.reply(`⚠️ Could not ask the agent for its models (${reason}).`, thread(topic));
        return;
      }
      const current = store.getModel(topic.key);
      if (args !== "") {
        await chooseModel(ctx, topic.key, args, models, thread(topic));
        return;
      }
      if (!models || models.available.length === 0) {
        await ctx.reply(
          `This agent offers no model choice; it uses its default. Current setting: ${current}.`,
          thread(topic),
        );
        return;
      }
      await ctx.reply(modelListText(models, current), {
        ...thread(topic),
        reply_markup: { inline_keyboard: modelKeyboard(models, current) },
      });
    }),
  );

  async function chooseModel(
    ctx: Context,
    key: TopicKey,
    requested: string,
    models: AgentModels | undefined,
    extra: object,
  ): Promise<boolean> {
    const valid = [AUTO_MODEL, ...(models?.available.map((m) => m.id) ?? [])];
    if (!valid.includes(requested)) {
      await ctx.reply(`Unknown model "${requested}". Valid: ${valid.join(", ")}.`, extra);
      return false;
    }
    store.setModel(key, requested);
    const label = requested === AUTO_MODEL ? "auto (the agent's default)" : requested;
    await ctx.reply(`✅ Model for this topic: ${label}. It applies from the next message on.`, extra);
    return true;
  }

  router.command(
    "cancel",
    withTopic(async (ctx, topic) => {
      const { cancelledRunning, dropped } = runner.cancel(topic.key);
      const parts: string[] = [];
      if (cancelledRunning) parts.push("⏹ Cancelling the running turn.");
      if (dropped > 0) parts.push(`Dropped ${dropped} queued message${dropped === 1 ? "" : "s"}.`);
      await ctx.reply(
        parts.length > 0 ? parts.join(" ") : "Nothing to cancel: the agent is idle.",
        thread(topic),
      );
    }),
  );

  router.command(
    "status",
    withTopic(async (ctx, topic) => {
      await ctx.reply(statusText(deps.agentCommand, runner.status(topic.key)), thread(topic));
    }),
  );

  router.command(
    "sessions",
    withTopic(async (ctx, topic) => {
      const rows = store.list(topic.key.chatId, topic.key.userId);
      if (rows.length === 0) {
        await ctx.reply("You have no sessions in this chat yet.", thread(topic));
        return;
      }
      const lines = rows.map((row) => {
        const where = row.threadId === 0 ? "no topic" : `topic ${row.threadId}`;
        const here = row.threadId === topic.key.threadId ? " (here)" : "";
        const session = row.sessionId ? `session ${row.sessionId.slice(0, 8)}…` : "no session yet";
        return `• ${where}${here}: last active ${row.updatedAt.replace("T", " ").slice(0, 16)} UTC, model ${row.model}, ${session}`;
      });
      await ctx.reply(`Your sessions in this chat, newest first:\n${lines.join("\n")}`, thread(topic));
    }),
  );

  const help = withTopic(async (ctx, topic) => {
    const commands = BOT_COMMANDS.map((c) => `/${c.command} — ${c.description}`).join("\n");
    await ctx.reply(
      `Every message in a topic goes to a coding agent (${deps.agentCommand}) that answers here. ` +
        `Each topic has its own session, workspace and model; conversations survive restarts.\n\n${commands}`,
      thread(topic),
    );
  });
  router.command("help", help);
  router.command("start", help);

  const onModelTap = async (ctx: ActionContext, data: string) => {
    const message = ctx.callbackQuery.message;
    if (!message) return ctx.answerCbQuery("This message is too old.", { show_alert: true });
    const messageThreadId =
      "is_topic_message" in message && message.is_topic_message ? message.message_thread_id : undefined;
    const key = { chatId: message.chat.id, threadId: messageThreadId ?? 0, userId: ctx.from.id };
    let models: AgentModels | undefined;
    try {
      models = await deps.models.get();
    } catch (err) {
      logger.warn({ err }, "could not list the agent's models");
    }
    const requested = data.startsWith(MODEL_INDEX_PREFIX)
      ? models?.available[Number(data.slice(MODEL_INDEX_PREFIX.length))]?.id
      : data.slice(MODEL_CALLBACK_PREFIX.length);
    if (requested === undefined)
      return ctx.answerCbQuery("That model is no longer offered.", { show_alert: true });
    const extra = messageThreadId === undefined ? {} : { message_thread_id: messageThreadId };
    const ok = await chooseModel(ctx, key, requested, models, extra);
    await ctx.answerCbQuery(ok ? `Model: ${requested}` : "Unknown model");
    if (ok && models) {
      await ctx
        .editMessageText(modelListText(models, requested), {
          reply_markup: { inline_keyboard: modelKeyboard(models, requested) },
        })
        .catch((err: unknown) => logger.debug({ err }, "could not update the model list"));
    }
  };
  router.action(MODEL_INDEX_PREFIX, onModelTap);
  router.action(MODEL_CALLBACK_PREFIX, onModelTap);
}

function modelListText(models: AgentModels, current: string): string {
  const lines = [AUTO_MODEL, ...models.available.map((m) => m.id)].map((id) => {
    const choice = models.available.find((m) => m.id === id);
    const name =
      id === AUTO_MODEL
        ? "auto — the agent's default"
        : choice && choice.name !== id
          ? `${id} — ${choice.name}`
          : id;
    return `${id === current ? "✅" : "▫️"} ${name}`;
  });
  return `Models (tap one, or send /model <id>):\n${lines.join("\n")}`;
}

function modelKeyboard(models: AgentModels, current: string): InlineKeyboardButton[][] {
  const ids = [AUTO_MODEL, ...models.available.map((m) => m.id)];
  return ids.map((id) => {
    const data = `${MODEL_CALLBACK_PREFIX}${id}`;
    const index = models.available.findIndex((m) => m.id === id);
    const callback_data = Buffer.byteLength(data) <= 64 || index < 0 ? data : `${MODEL_INDEX_PREFIX}${index}`;
    return [{ text: `${id === current ? "✅ " : ""}${id}`, callback_data }];
  });
}

/** The /status text: agent, session, model, workspace, state, last turn. */
export function statusText(agentCommand: string, status: TopicStatus): string {
  const state =
    status.runningForMs === undefined
      ? "idle"
      : `working for ${Math.round(status.runningForMs / 1000)} s${status.queued > 0 ? `, ${status.queued} queued` : ""}`;
  const lines = [
    `Agent: ${agentCommand}`,
    `Session: ${status.sessionId ?? "none yet (the next message starts one)"}`,
    `Model: ${status.model}`,
    `Workspace: ${status.workspacePath}`,
    `State: ${state}`,
  ];
  const last = status.last;
  if (last) {
    const usage = last.usage;
    const extras: string[] = [];
    if (usage?.contextUsed !== undefined && usage.contextSize !== undefined) {
      extras.push(
        `context ${usage.contextUsed.toLocaleString("en")}/${usage.contextSize.toLocaleString("en")} tokens`,
      );
    }
    if (usage?.inputTokens !== undefined || usage?.outputTokens !== undefined) {
      extras.push(`tokens in ${usage.inputTokens ?? "?"} / out ${usage.outputTokens ?? "?"}`);
    }
    if (usage?.cost) extras.push(`cost ${usage.cost.amount} ${usage.cost.currency}`);
    lines.push(
      `Last turn: ${last.stopReason} after ${(last.durationMs / 1000).toFixed(1)} s${extras.length > 0 ? ` (${extras.join("; ")})` : ""}`,
    );
  }
  return lines.join("\n");
}
