import type { TopicKey } from "./topic-key.js";

/**
 * A scheduled prompt of a topic key (the `schedules` table): it runs as a normal turn of the key at
 * `nextRunAt`, once (`cron` null) or on every occurrence of a cron expression evaluated in
 * `timeZone` (IANA name, SCHEDULE_TZ when it was made). Timestamps are ISO 8601 strings (UTC).
 */
export type ScheduleRecord = {
  id: number;
  key: TopicKey;
  prompt: string;
  /** 5-field cron expression (minute hour day month weekday), or null for a one-shot. */
  cron: string | null;
  timeZone: string;
  /** When it runs next (ISO 8601, UTC). */
  nextRunAt: string;
  createdAt: string;
};

/** What {@link ScheduleRecord} a caller stores: everything but the id and creation time. */
export type NewSchedule = Omit<ScheduleRecord, "id" | "createdAt">;

/**
 * When a schedule runs: `at` once (an ISO 8601 date-time, read in SCHEDULE_TZ without an offset, or
 * `in <n><s|m|h|d>` from now), or `every` occurrence of a 5-field cron expression in SCHEDULE_TZ.
 */
export type ScheduleWhen = { at: string } | { every: string };

/** `iso` as `YYYY-MM-DD HH:MM <zone>` in the IANA `timeZone` (for the topic). */
export function formatInZone(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(iso))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
}

/** One line describing a schedule: `#3 next 2026-12-03 09:00 UTC, every "0 9 * * *": <prompt>`. */
export function describeSchedule(schedule: ScheduleRecord, promptChars = 80): string {
  const prompt =
    schedule.prompt.length > promptChars ? `${schedule.prompt.slice(0, promptChars - 1)}…` : schedule.prompt;
  const repeat = schedule.cron === null ? "once" : `every "${schedule.cron}"`;
  return `#${schedule.id} next ${formatInZone(schedule.nextRunAt, schedule.timeZone)}, ${repeat}: ${prompt}`;
}
