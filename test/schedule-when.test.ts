import { describe, expect, it } from "vitest";
import { UserFacingError } from "../src/domain/errors.js";
import { describeSchedule, formatInZone } from "../src/domain/schedule.js";
import { nextCronRun, resolveWhen } from "../src/runner/schedule-when.js";
import { splitScheduleArgs } from "../src/telegram/schedule-command.js";

const now = new Date("2026-12-02T06:00:00.000Z");
const utc = { timeZone: "UTC", minIntervalMs: 300_000 };

describe("the /schedule grammar", () => {
  it("splits relative times, ISO times, quoted and bare cron expressions from the prompt", () => {
    expect(splitScheduleArgs("in 10m check the CI")).toEqual({
      when: { at: "in 10m" },
      prompt: "check the CI",
    });
    expect(splitScheduleArgs("2026-12-03T09:00 ship it")).toEqual({
      when: { at: "2026-12-03T09:00" },
      prompt: "ship it",
    });
    expect(splitScheduleArgs("2026-12-03 09:00+01:00 ship it")).toEqual({
      when: { at: "2026-12-03 09:00+01:00" },
      prompt: "ship it",
    });
    expect(splitScheduleArgs('"0 9 * * 1-5" morning report\nwith details')).toEqual({
      when: { every: "0 9 * * 1-5" },
      prompt: "morning report\nwith details",
    });
    expect(splitScheduleArgs("*/30 8-18 * * MON-FRI look at the queue")).toEqual({
      when: { every: "*/30 8-18 * * MON-FRI" },
      prompt: "look at the queue",
    });
    expect(splitScheduleArgs("tomorrow morning do it")).toBeUndefined();
    expect(splitScheduleArgs("in 10m")).toBeUndefined();
  });
});

describe("schedule times", () => {
  it("resolves relative and ISO times (in SCHEDULE_TZ without an offset) to one run", () => {
    expect(resolveWhen({ at: "in 90s" }, utc, now)).toEqual({
      cron: null,
      nextRunAt: new Date("2026-12-02T06:01:30.000Z"),
    });
    expect(resolveWhen({ at: "in 2 h" }, utc, now).nextRunAt).toEqual(new Date("2026-12-02T08:00:00.000Z"));
    const berlin = { ...utc, timeZone: "Europe/Berlin" };
    expect(resolveWhen({ at: "2026-12-03T09:00" }, berlin, now).nextRunAt).toEqual(
      new Date("2026-12-03T08:00:00.000Z"),
    );
    expect(resolveWhen({ at: "2026-12-03T09:00Z" }, berlin, now).nextRunAt).toEqual(
      new Date("2026-12-03T09:00:00.000Z"),
    );
  });

  it("resolves a cron expression in its zone and finds the run after a given time", () => {
    const berlin = { ...utc, timeZone: "Europe/Berlin" };
    expect(resolveWhen({ every: "0  9 * * *" }, berlin, now)).toEqual({
      cron: "0 9 * * *",
      nextRunAt: new Date("2026-12-02T08:00:00.000Z"),
    });
    expect(nextCronRun("0 9 * * *", "Europe/Berlin", new Date("2026-12-02T08:00:00.000Z"))).toEqual(
      new Date("2026-12-03T08:00:00.000Z"),
    );
  });

  it("refuses, in one line, times that do not parse or are past, bad cron and too short intervals", () => {
    const refusal = (when: Parameters<typeof resolveWhen>[0]) => {
      try {
        resolveWhen(when, utc, now);
      } catch (err) {
        expect(err).toBeInstanceOf(UserFacingError);
        return (err as Error).message;
      }
      throw new Error("resolved");
    };
    expect(refusal({ at: "2020-01-01T00:00" })).toBe("2020-01-01T00:00 is in the past");
    expect(refusal({ at: "soon" })).toMatch(/neither an ISO time .* nor "in <n>s\|m\|h\|d"/);
    expect(refusal({ at: "in 0m" })).toBe('"in 0m" is not in the future');
    expect(refusal({ every: "61 * * * *" })).toMatch(/^the cron expression "61 \* \* \* \*" does not parse/);
    expect(refusal({ every: "* * * *" })).toMatch(/not a cron expression of 5 fields/);
    expect(refusal({ every: "*/2 * * * *" })).toBe(
      '"*/2 * * * *" fires more often than every 5 min (SCHEDULE_MIN_INTERVAL_MS)',
    );
    expect(refusal({ every: "0 0 30 2 *" })).toBe('the cron expression "0 0 30 2 *" never fires');
  });

  it("describes a schedule in its zone", () => {
    expect(formatInZone("2026-12-03T08:00:00.000Z", "Europe/Berlin")).toBe("2026-12-03 09:00 Europe/Berlin");
    expect(
      describeSchedule({
        id: 3,
        key: { chatId: 1, threadId: 2, userId: 3 },
        prompt: "check the CI",
        cron: "0 9 * * *",
        timeZone: "UTC",
        nextRunAt: "2026-12-03T09:00:00.000Z",
        createdAt: "2026-12-02T00:00:00.000Z",
      }),
    ).toBe('#3 next 2026-12-03 09:00 UTC, every "0 9 * * *": check the CI');
  });
});
