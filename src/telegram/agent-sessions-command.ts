import { randomBytes } from "node:crypto";
import type { Context } from "telegraf";
import type { AgentSessionInfo } from "../domain/agent-sessions.js";
import { UserFacingError } from "../domain/errors.js";
import {
  type MessageTopic,
  type TopicKey,
  tapperKeyOf,
  threadParam,
  topicKeyId,
} from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import type { Reply } from "./replies.js";
import { type ActionContext, type Router, withTopic } from "./router.js";

/** callback_data prefix of the adopt buttons of `/sessions agent`: `j:<list nonce>:<index>` ("a:" is the 📄 answer button). */
export const ADOPT_CALLBACK_PREFIX = "j:";
/** Sessions shown by `/sessions agent`. */
const SHOWN = 10;
const MAX_LISTS = 1_000;

/** Whether the update's chat is a forum supergroup (topics can be created there). */
export function inForum(ctx: Context): boolean {
  const chat = ctx.chat as { type?: string; is_forum?: boolean } | undefined;
  return chat?.type === "supergroup" && chat.is_forum === true;
}

/**
 * Creates a forum topic named `name` in the chat (Bot API createForumTopic) for the same user, and
 * posts `welcome` in it; returns the new topic's key.
 *
 * @throws the Bot API error (no right to manage topics...).
 */
export async function openForumTopic(
  ctx: Context,
  key: TopicKey,
  name: string,
  welcome: string,
): Promise<TopicKey> {
  const topic = await ctx.telegram.createForumTopic(key.chatId, name.slice(0, 128));
  await ctx.telegram.sendMessage(key.chatId, welcome, { message_thread_id: topic.message_thread_id });
  return { chatId: key.chatId, threadId: topic.message_thread_id, userId: key.userId };
}

/**
 * `/sessions agent` (the agent's own sessions, ACP session/list, with an Adopt button each: the
 * session then continues in this topic, with its own cwd as the workspace, when that lies under
 * WORKSPACE_BASE_PATH or ADOPT_ROOTS) and `/fork` (the topic's session forked, ACP session/fork,
 * into a new forum topic the bot creates). Refusals are one line; a tap on another user's list or
 * on an old list changes nothing.
 *
 * @returns `show`, the `/sessions agent` handler (the /sessions command dispatches to it).
 */
export function registerAgentSessions(
  router: Router,
  deps: { runner: Runner; reply: Reply; logger: Logger },
) {
  const { runner, reply, logger } = deps;
  const lists = new Map<string, { key: TopicKey; sessions: AgentSessionInfo[] }>();
  const failure = async (ctx: Context, topic: MessageTopic, what: string, err: unknown) => {
    logger.warn({ err }, `could not ${what}`);
    const reason = err instanceof UserFacingError ? err.message : "see the bot's log";
    await reply(ctx, `⚠️ Could not ${what} (${reason}).`, threadParam(topic.key.threadId));
  };

  async function show(ctx: Context, topic: MessageTopic): Promise<void> {
    const extra = threadParam(topic.key.threadId);
    let sessions: AgentSessionInfo[] | undefined;
    try {
      sessions = await runner.agentSessions();
    } catch (err) {
      return failure(ctx, topic, "ask the agent for its sessions", err);
    }
    if (sessions === undefined) {
      await reply(ctx, "This agent does not list its sessions (it offers no session/list).", extra);
      return;
    }
    if (sessions.length === 0) {
      await reply(ctx, "The agent has no sessions of its own yet.", extra);
      return;
    }
    const shown = sessions.slice(0, SHOWN);
    const nonce = randomBytes(6).toString("base64url");
    const lines = shown.map((s, i) => {
      const updated = s.updatedAt ? `, updated ${s.updatedAt.replace("T", " ").slice(0, 16)}` : "";
      return `${i + 1}. ${s.title ?? "untitled"} — ${s.cwd}${updated}`;
    });
    await reply(ctx, `The agent's own sessions (tap to continue one in this topic):\n${lines.join("\n")}`, {
      ...extra,
      reply_markup: {
        inline_keyboard: shown.map((_, i) => [
          { text: `Adopt ${i + 1}`, callback_data: `${ADOPT_CALLBACK_PREFIX}${nonce}:${i}` },
        ]),
      },
    });
    lists.set(nonce, { key: topic.key, sessions: shown });
    if (lists.size > MAX_LISTS) lists.delete(lists.keys().next().value as string);
  }

  router.action(ADOPT_CALLBACK_PREFIX, async (ctx: ActionContext, data: string) => {
    const [nonce = "", index = ""] = data.slice(ADOPT_CALLBACK_PREFIX.length).split(":");
    const list = lists.get(nonce);
    const message = ctx.callbackQuery.message;
    const session = list?.sessions[Number(index)];
    if (!list || !message || !session)
      return ctx.answerCbQuery("This list is out of date; send /sessions agent again.");
    const { key, messageThreadId } = tapperKeyOf(message, ctx.from.id);
    if (topicKeyId(key) !== topicKeyId(list.key))
      return ctx.answerCbQuery("Only the user who asked for this list can adopt from it.", {
        show_alert: true,
      });
    const refusal = await runner.adoptSession(key, session);
    if (refusal) return ctx.answerCbQuery(refusal, { show_alert: true });
    await ctx.answerCbQuery("Adopted.");
    await ctx.telegram.sendMessage(
      key.chatId,
      `🔗 This topic now continues the agent's session "${session.title ?? session.sessionId}" in ${session.cwd}; your next message goes to it.`,
      messageThreadId === undefined ? {} : { message_thread_id: messageThreadId },
    );
  });

  router.command(
    "fork",
    withTopic(async (ctx, topic) => {
      const extra = threadParam(topic.key.threadId);
      if (!inForum(ctx)) {
        await reply(ctx, "/fork opens a new forum topic: it works in forum groups only.", extra);
        return;
      }
      let forked: TopicKey | string;
      try {
        forked = await runner.forkSession(topic.key, () =>
          openForumTopic(
            ctx,
            topic.key,
            "Fork",
            "🍴 A fork of the session of another topic: it continues here.",
          ),
        );
      } catch (err) {
        return failure(ctx, topic, "fork the session", err);
      }
      await reply(
        ctx,
        typeof forked === "string"
          ? forked
          : '🍴 Forked: the copy of this session continues in the new topic "Fork".',
        extra,
      );
    }),
  );

  return { show };
}
