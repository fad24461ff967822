import { UserFacingError } from "../domain/errors.js";
import { describeSchedule, type ScheduleWhen } from "../domain/schedule.js";
import { tapperKeyOf, threadParam } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { ScheduleBook } from "../runner/types.js";
import type { Reply } from "./replies.js";
import { type Router, withTopic } from "./router.js";

/** callback_data prefix of the cancel buttons under /schedules: `sc:<schedule id>`. */
export const SCHEDULE_CANCEL_PREFIX = "sc:";

/** How to write /schedule, for its usage line and /help. */
export const SCHEDULE_USAGE =
  'Usage: /schedule <when> <prompt>, where <when> is "in 10m" (s, m, h, d), an ISO time ' +
  "(2026-12-03T09:00, in the bot's SCHEDULE_TZ unless it has an offset) or a cron expression of 5 fields " +
  '(0 9 * * 1-5, or in quotes: "0 9 * * 1-5")';

const CRON_FIELD = /^[\d*/,\-A-Za-z?LW#]+$/;

/**
 * Splits the text after /schedule into its time and prompt: `in <n><unit> <prompt>`, `<ISO time>
 * <prompt>` (`2026-12-03T09:00` or `2026-12-03 09:00`, with an optional offset), `"<cron>" <prompt>`
 * or five cron fields then the prompt. Returns undefined when the text fits none of them.
 */
export function splitScheduleArgs(args: string): { when: ScheduleWhen; prompt: string } | undefined {
  const quoted = /^["“](.+?)["”]\s+([\s\S]+)$/.exec(args);
  if (quoted) return { when: { every: quoted[1] as string }, prompt: quoted[2] as string };
  const relative = /^(in\s+\d+\s*[a-z]+)\s+([\s\S]+)$/i.exec(args);
  if (relative) return { when: { at: relative[1] as string }, prompt: relative[2] as string };
  const iso =
    /^(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)\s+([\s\S]+)$/.exec(
      args,
    );
  if (iso) return { when: { at: iso[1] as string }, prompt: iso[2] as string };
  const words = args.split(/\s+/);
  if (words.length > 5 && words.slice(0, 5).every((word) => CRON_FIELD.test(word))) {
    return { when: { every: words.slice(0, 5).join(" ") }, prompt: args.replace(/^(\S+\s+){5}/, "") };
  }
  return undefined;
}

/**
 * Registers /schedule (store a prompt for this topic), /schedules (the topic's schedules with a
 * cancel button each) and the cancel button, which only the user who made the schedule may use
 * (anyone else gets an alert, as with permission buttons).
 */
export function registerScheduleCommands(
  router: Router,
  deps: { schedules: ScheduleBook; reply: Reply; logger: Logger },
): void {
  const { schedules, reply } = deps;
  router.command(
    "schedule",
    withTopic(async (ctx, topic, args) => {
      const extra = threadParam(topic.key.threadId);
      const split = splitScheduleArgs(args);
      if (!split) return reply(ctx, SCHEDULE_USAGE, extra);
      try {
        const stored = await schedules.add(topic.key, split.when, split.prompt);
        return await reply(ctx, `⏰ Scheduled ${describeSchedule(stored)}`, extra);
      } catch (err) {
        if (!(err instanceof UserFacingError)) throw err;
        return reply(ctx, `⚠️ Not scheduled: ${err.message}.`, extra);
      }
    }),
  );

  router.command(
    "schedules",
    withTopic(async (ctx, topic) => {
      const extra = threadParam(topic.key.threadId);
      const list = await schedules.list(topic.key);
      if (list.length === 0)
        return reply(ctx, `You have no schedules in this topic. ${SCHEDULE_USAGE}`, extra);
      return reply(
        ctx,
        `Your schedules in this topic:\n${list.map((s) => `• ${describeSchedule(s)}`).join("\n")}`,
        {
          ...extra,
          reply_markup: {
            inline_keyboard: list.map((s) => [
              { text: `✖ Cancel #${s.id}`, callback_data: `${SCHEDULE_CANCEL_PREFIX}${s.id}` },
            ]),
          },
        },
      );
    }),
  );

  router.action(SCHEDULE_CANCEL_PREFIX, async (ctx, data) => {
    const id = Number(data.slice(SCHEDULE_CANCEL_PREFIX.length));
    const message = ctx.callbackQuery.message;
    if (!message || !Number.isSafeInteger(id))
      return ctx.answerCbQuery("This button is no longer valid.", { show_alert: true });
    const { key } = tapperKeyOf(message, ctx.from.id);
    const refusal = await schedules.cancel(id, key);
    if (refusal) return ctx.answerCbQuery(refusal, { show_alert: true });
    await ctx.answerCbQuery(`Schedule #${id} cancelled`);
    const who = ctx.from.username ? `@${ctx.from.username}` : ctx.from.first_name;
    await reply(ctx, `✖ Schedule #${id} cancelled (${who}).`, threadParam(key.threadId)).catch(
      (err: unknown) => deps.logger.warn({ err }, "could not confirm a cancelled schedule"),
    );
  });
}
