import { Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import { StoreUnavailableError } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import type { Runner, ScheduleBook } from "../runner/types.js";
import { registerCommands } from "./commands.js";
import { registerAnswerButton, registerRetryButton } from "./interrupted.js";
import type { Outbox } from "./outbox.js";
import { PERMISSION_CALLBACK_PREFIX, type PermissionPrompts } from "./permission-prompts.js";
import { registerPromptHandlers, registerUnsupportedContent } from "./prompt-handlers.js";
import { createPromptIntake } from "./prompt-intake.js";
import { QUESTION_CALLBACK_PREFIX, type QuestionPrompts } from "./question-prompts.js";
import { createReply } from "./replies.js";
import { createRouter } from "./router.js";
import { registerScheduleCommands } from "./schedule-command.js";
import { registerTurnButtons } from "./turn-button-handlers.js";
import { updateLogger } from "./update-logger.js";

/** How long one update's handlers may take before Telegraf gives up on them, ms. */
const HANDLER_TIMEOUT_MS = 30_000;

/**
 * A Telegraf instance for the bot: `webhookReply: false` (every Bot API call is a real request, not
 * the webhook's HTTP answer) and `apiRoot` (Telegram, a local telegram-bot-api server or a mock).
 * The caller sets `botInfo` (getMe) before handing it updates.
 */
export function createTelegraf(options: { botToken: string; apiRoot: string }): Telegraf {
  return new Telegraf(options.botToken, {
    telegram: { apiRoot: options.apiRoot, webhookReply: false },
    // Handlers only queue work; a slow one is a bug worth an error in the log, not a hung update.
    handlerTimeout: HANDLER_TIMEOUT_MS,
  });
}

/**
 * Registers the bot's handlers on `bot`: the allowlist (messages, commands and button taps; in
 * groups strangers get silence, in a private chat one line with their user id), the commands, the
 * permission, question, schedule and Retry buttons, then text, photos, documents, voice notes and audio files → a turn
 * in the runner.
 *
 * @returns flushInput: submits the parts of long messages still being joined (shutdown).
 */
export function registerBot(
  bot: Telegraf,
  deps: {
    runner: Runner;
    outbox: Outbox;
    prompts: PermissionPrompts;
    /** The MCP ask_user questions (their buttons). */
    questions: QuestionPrompts;
    schedules: ScheduleBook;
    allowedUserIds: ReadonlySet<number>;
    agentCommand: string;
    /** NEW_OPENS_TOPIC. */
    newOpensTopic?: boolean;
    inputDebounceMs: number;
    logger: Logger;
  },
): { flushInput(): void } {
  const { logger, runner } = deps;
  const intake = createPromptIntake({
    debounceMs: deps.inputDebounceMs,
    onLateError: (err) => logger.error({ err }, "could not queue a joined long message"),
  });
  const reply = createReply(deps.outbox);

  bot.catch((err, ctx) => {
    // The store cannot write: the webhook answers 503 and Telegram sends the Update again later.
    if (err instanceof StoreUnavailableError) throw err;
    updateLogger(ctx, logger).error({ err }, "update handler failed");
  });

  bot.use(async (ctx, next) => {
    const from = ctx.from;
    if (from && !from.is_bot && deps.allowedUserIds.has(from.id)) return next();
    updateLogger(ctx, logger).info(
      { user_id: from?.id },
      "update from a user not in ALLOWED_USER_IDS ignored",
    );
    // Answered on their own: the Update is taken in at once.
    const answered = ctx.callbackQuery
      ? ctx.answerCbQuery("You are not allowed to use this bot.", { show_alert: true })
      : from && !from.is_bot && ctx.chat?.type === "private" && ctx.message
        ? reply(
            ctx,
            `Your Telegram user id is ${from.id}. You are not allowed to use this bot; ask its operator to add your id to ALLOWED_USER_IDS.`,
          )
        : undefined;
    void answered?.catch((err: unknown) =>
      updateLogger(ctx, logger).error({ err }, "could not answer a stranger"),
    );
  });

  const router = createRouter();
  router.action(PERMISSION_CALLBACK_PREFIX, (ctx, data) => deps.prompts.handleCallback(ctx, data));
  router.action(QUESTION_CALLBACK_PREFIX, (ctx, data) => deps.questions.handleCallback(ctx, data));
  registerScheduleCommands(router, { schedules: deps.schedules, reply, logger });
  registerCommands(router, {
    runner,
    outbox: deps.outbox,
    reply,
    agentCommand: deps.agentCommand,
    newOpensTopic: deps.newOpensTopic ?? false,
    logger,
  });
  registerRetryButton(router, { runner, logger });
  registerTurnButtons(router, { runner, logger });
  registerAnswerButton(router, { runner, outbox: deps.outbox, logger });
  registerPromptHandlers(bot, { runner, router, intake, reply, logger });
  // After the message handlers, so text messages (the hot path) skip this layer.
  router.mountActions(bot, (ctx, err) => updateLogger(ctx, logger).error({ err }, "button tap failed"));
  // A closed forum topic ends its sessions (session/close when offered); the workspaces stay.
  bot.on(message("forum_topic_closed"), (ctx) => {
    const threadId = ctx.message.message_thread_id;
    if (threadId === undefined) return;
    void runner
      .topicClosed(ctx.chat.id, threadId)
      .then((closed) => updateLogger(ctx, logger).info({ closed }, "forum topic closed: its sessions closed"))
      .catch((err: unknown) =>
        updateLogger(ctx, logger).error({ err }, "could not close a closed topic's sessions"),
      );
  });
  registerUnsupportedContent(bot, reply, logger);

  return { flushInput: () => intake.flushAll() };
}
