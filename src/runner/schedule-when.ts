import { Cron } from "croner";
import { formatDuration } from "../domain/duration.js";
import { UserFacingError } from "../domain/errors.js";
import type { ScheduleWhen } from "../domain/schedule.js";

/** What a schedule's time resolves to: its cron expression (null for a one-shot) and first run. */
export type ResolvedWhen = { cron: string | null; nextRunAt: Date };

/** Rules of {@link resolveWhen}: SCHEDULE_TZ and SCHEDULE_MIN_INTERVAL_MS. */
export type WhenRules = { timeZone: string; minIntervalMs: number };

const RELATIVE = /^in\s+(\d{1,6})\s*(s|sec|m|min|h|d)$/i;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const UNIT_MS: Record<string, number> = {
  s: 1_000,
  sec: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
/** How many coming runs of a cron expression are checked against the shortest interval. */
const INTERVAL_SAMPLES = 60;

/**
 * Resolves a schedule's time (see {@link ScheduleWhen}) at `now`, with croner for ISO times in a
 * zone and for cron expressions (5 fields: minute hour day-of-month month day-of-week).
 *
 * @throws UserFacingError (one line) for a time that does not parse or is in the past, a cron
 *   expression that does not parse, never fires or fires more often than `minIntervalMs`.
 */
export function resolveWhen(when: ScheduleWhen, rules: WhenRules, now: Date): ResolvedWhen {
  if ("every" in when) {
    const cron = when.every.trim().replace(/\s+/g, " ");
    if (cron.split(" ").length !== 5) {
      throw new UserFacingError(
        `"${cron}" is not a cron expression of 5 fields (minute hour day month weekday), e.g. "0 9 * * 1-5"`,
      );
    }
    const job = parse(cron, rules.timeZone, "cron expression");
    const runs = job.nextRuns(INTERVAL_SAMPLES, now);
    const first = runs[0];
    if (!first) throw new UserFacingError(`the cron expression "${cron}" never fires`);
    for (let i = 1; i < runs.length; i += 1) {
      const gap = (runs[i] as Date).getTime() - (runs[i - 1] as Date).getTime();
      if (gap < rules.minIntervalMs) {
        throw new UserFacingError(
          `"${cron}" fires more often than every ${formatDuration(rules.minIntervalMs)} (SCHEDULE_MIN_INTERVAL_MS)`,
        );
      }
    }
    return { cron, nextRunAt: first };
  }
  const at = when.at.trim();
  const relative = RELATIVE.exec(at);
  if (relative) {
    const ms = Number(relative[1]) * (UNIT_MS[(relative[2] as string).toLowerCase()] as number);
    if (ms <= 0) throw new UserFacingError(`"${at}" is not in the future`);
    return { cron: null, nextRunAt: new Date(now.getTime() + ms) };
  }
  if (!ISO_DATE_TIME.test(at)) {
    throw new UserFacingError(
      `"${at}" is neither an ISO time (2026-12-03T09:00, in ${rules.timeZone} without an offset) nor "in <n>s|m|h|d"`,
    );
  }
  const instant = parse(at.replace(" ", "T"), rules.timeZone, "time").nextRun(now);
  if (!instant) throw new UserFacingError(`${at} is in the past`);
  return { cron: null, nextRunAt: instant };
}

/** The run after `after` of a stored cron expression in its zone, or null when it fires no more. */
export function nextCronRun(cron: string, timeZone: string, after: Date): Date | null {
  return new Cron(cron, { timezone: timeZone, paused: true }).nextRun(after);
}

function parse(pattern: string, timeZone: string, what: string): Cron {
  try {
    return new Cron(pattern, { timezone: timeZone, paused: true });
  } catch (err) {
    throw new UserFacingError(`the ${what} "${pattern}" does not parse (${(err as Error).message})`);
  }
}
