import { UserFacingError } from "../domain/errors.js";
import { MAX_PROMPT_CHARS } from "../domain/prompt.js";
import { formatInZone, type ScheduleRecord } from "../domain/schedule.js";
import type { Store } from "../domain/store.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import { nextCronRun, resolveWhen, type WhenRules } from "./schedule-when.js";
import type { Runner, ScheduleBook } from "./types.js";

/** Longest the scheduler sleeps between two looks at the table, ms (schedules other processes added). */
const MAX_SLEEP_MS = 60_000;
/** Longest quote of the prompt in the header line, characters (a message holds 4096). */
const HEADER_PROMPT_CHARS = 200;

/** What the scheduler needs; see {@link createScheduler}. */
export type SchedulerDeps = WhenRules & {
  store: Store;
  /** Journals and queues a prompt as a turn (Runner.accept). */
  accept: Runner["accept"];
  /** Posts one line in the key's topic (the "⏰ Scheduled" header). */
  announce: (key: TopicKey, line: string) => Promise<void>;
  /** Whether the user may still use the bot (ALLOWED_USER_IDS): others' schedules are skipped. */
  allowed: (userId: number) => boolean;
  /** SCHEDULES_PER_TOPIC. */
  perTopic: number;
  logger: Logger;
  now?: () => Date;
};

/**
 * The schedules' clock: a {@link ScheduleBook} over the store's `schedules` table, and a timer that
 * wakes at the earliest next_run_at (at least every minute). A due schedule is advanced by
 * compare-and-set first (so each occurrence fires once, also with several processes on one
 * database), then its topic gets the header line and its prompt is accepted as a turn of its key,
 * which the key's queue runs after any turn in progress. `start()` fires what came due while the bot
 * was down once each, with a note, and moves repeating ones to their next occurrence after now.
 */
export function createScheduler(deps: SchedulerDeps) {
  const { store, logger } = deps;
  const now = deps.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let chain: Promise<void> = Promise.resolve();

  /** Runs the sweeps one after another; `missedBefore`: due before it means missed while down. */
  const sweep = (missedBefore?: Date): Promise<void> => {
    chain = chain
      .then(() => fireDue(missedBefore))
      .then(
        () => arm(),
        (err: unknown) => {
          // Not through arm(): a schedule still due would make that a busy loop (a full disk).
          logger.error({ err }, "due schedules could not be run; trying again in a minute");
          wakeIn(MAX_SLEEP_MS);
        },
      );
    return chain;
  };

  async function fireDue(missedBefore: Date | undefined): Promise<void> {
    const at = now();
    for (const schedule of await store.dueSchedules(at)) {
      if (stopped) return;
      const next = schedule.cron === null ? null : nextCronRun(schedule.cron, schedule.timeZone, at);
      if (!(await store.advanceSchedule(schedule.id, schedule.nextRunAt, next?.toISOString() ?? null)))
        continue;
      const missed = missedBefore !== undefined && new Date(schedule.nextRunAt) < missedBefore;
      await fire(schedule, missed);
    }
  }

  async function fire(schedule: ScheduleRecord, missed: boolean): Promise<void> {
    const log = logger.child({ topic: schedule.key, scheduleId: schedule.id });
    if (!deps.allowed(schedule.key.userId)) {
      log.warn("scheduled prompt of a user not in ALLOWED_USER_IDS skipped");
      return;
    }
    const note = missed
      ? `#${schedule.id}; missed at ${formatInZone(schedule.nextRunAt, schedule.timeZone)} while the bot was down, run once now`
      : schedule.cron === null
        ? `#${schedule.id}`
        : `#${schedule.id}, every "${schedule.cron}" ${schedule.timeZone}`;
    const prompt =
      schedule.prompt.length > HEADER_PROMPT_CHARS
        ? `${schedule.prompt.slice(0, HEADER_PROMPT_CHARS)}…`
        : schedule.prompt;
    // The header is a courtesy: the turn runs even when it cannot be posted.
    await deps
      .announce(schedule.key, `⏰ Scheduled: ${prompt} (${note})`)
      .catch((err: unknown) => log.warn({ err }, "could not post a schedule's header"));
    try {
      await deps.accept({ key: schedule.key, prompt: [{ type: "text", text: schedule.prompt }] });
      log.info({ missed }, "scheduled prompt queued");
    } catch (err) {
      log.error({ err }, "a scheduled prompt could not be queued");
    }
  }

  function wakeIn(ms: number): void {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void sweep(), ms);
    timer.unref();
  }

  /** Sleeps until the earliest next_run_at, at most a minute. */
  function arm(): void {
    clearTimeout(timer);
    if (stopped) return;
    void store.nextScheduleAt().then(
      (next) =>
        wakeIn(
          next === undefined
            ? MAX_SLEEP_MS
            : Math.min(Math.max(Date.parse(next) - now().getTime(), 0), MAX_SLEEP_MS),
        ),
      (err: unknown) => {
        logger.warn({ err }, "could not read the next schedule; looking again in a minute");
        wakeIn(MAX_SLEEP_MS);
      },
    );
  }

  const book: ScheduleBook = {
    async add(key, when, prompt) {
      const text = prompt.trim();
      if (text === "") throw new UserFacingError("a schedule needs a prompt");
      if (text.length > MAX_PROMPT_CHARS)
        throw new UserFacingError(`the prompt is over ${MAX_PROMPT_CHARS} characters`);
      const resolved = resolveWhen(when, deps, now());
      const stored = await store.addSchedule(
        {
          key,
          prompt: text,
          cron: resolved.cron,
          timeZone: deps.timeZone,
          nextRunAt: resolved.nextRunAt.toISOString(),
        },
        deps.perTopic,
      );
      if (!stored) {
        throw new UserFacingError(
          `this topic has ${deps.perTopic} schedules already (SCHEDULES_PER_TOPIC): cancel one first (/schedules)`,
        );
      }
      if (!stopped) void sweep();
      return stored;
    },
    list: (key) => store.schedules(key),
    async cancel(id, key) {
      const schedule = await store.schedule(id);
      const here = schedule && schedule.key.chatId === key.chatId && schedule.key.threadId === key.threadId;
      if (!schedule || !here) return `There is no schedule #${id} in this topic.`;
      if (schedule.key.userId !== key.userId) return "Only the user who made this schedule can cancel it.";
      if (!(await store.cancelSchedule(id))) return `Schedule #${id} has already run or was cancelled.`;
      return undefined;
    },
  };

  return {
    ...book,
    /** Starts the clock: what came due while the bot was down fires once now, with a note. */
    async start(): Promise<void> {
      stopped = false;
      await sweep(now());
    },
    /** Stops the clock (shutdown); a sweep in progress queues nothing more. */
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The scheduler; see {@link createScheduler}. */
export type Scheduler = ReturnType<typeof createScheduler>;
