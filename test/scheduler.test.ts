import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/db/sqlite-store.js";
import type { Store } from "../src/domain/store.js";
import { createScheduler } from "../src/runner/scheduler.js";
import type { PromptJob } from "../src/runner/types.js";
import { makeTempDir } from "./support/temp-dir.js";

const key = { chatId: -100, threadId: 7, userId: 42 };
const past = () => new Date(Date.now() - 60_000).toISOString();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A scheduler on a fresh SQLite store, recording what it announces and accepts. */
function setUp(options: { allowed?: (userId: number) => boolean; announceFails?: boolean } = {}) {
  const temp = makeTempDir();
  const store: Store = openSqliteStore(path.join(temp.dir, "s.db"));
  const accepted: PromptJob[] = [];
  const announced: string[] = [];
  const scheduler = createScheduler({
    store,
    accept: async (job) => {
      accepted.push(job);
      return { done: Promise.resolve() };
    },
    announce: async (_key, line) => {
      if (options.announceFails) throw new Error("Bot API down");
      announced.push(line);
    },
    allowed: options.allowed ?? (() => true),
    perTopic: 20,
    timeZone: "UTC",
    minIntervalMs: 300_000,
    logger: pino({ level: "silent" }),
  });
  cleanups.push(
    temp.cleanup,
    () => store.close(),
    () => scheduler.stop(),
  );
  return { store, scheduler, accepted, announced };
}

describe("the scheduler", () => {
  it("quotes at most 200 characters of the prompt in the header, and sends the whole prompt", async () => {
    const { store, scheduler, accepted, announced } = setUp();
    const prompt = `check ${"x".repeat(300)}`;
    await store.addSchedule({ key, prompt, cron: null, timeZone: "UTC", nextRunAt: past() }, 20);
    await scheduler.start();
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatch(
      /^⏰ Scheduled: check x{194}… \(#1; missed at .* UTC while the bot was down, run once now\)$/,
    );
    expect(accepted).toEqual([{ key, prompt: [{ type: "text", text: prompt }] }]);
  });

  it("runs the turn when the header cannot be posted", async () => {
    const { store, scheduler, accepted } = setUp({ announceFails: true });
    await store.addSchedule(
      { key, prompt: "still runs", cron: null, timeZone: "UTC", nextRunAt: past() },
      20,
    );
    await scheduler.start();
    expect(accepted.map((job) => job.prompt)).toEqual([[{ type: "text", text: "still runs" }]]);
  });

  it("skips, and moves on, the schedules of a user no longer allowed", async () => {
    const { store, scheduler, accepted, announced } = setUp({ allowed: () => false });
    const stored = await store.addSchedule(
      { key, prompt: "not any more", cron: "0 9 * * *", timeZone: "UTC", nextRunAt: past() },
      20,
    );
    await scheduler.start();
    expect(accepted).toEqual([]);
    expect(announced).toEqual([]);
    const moved = await store.schedule(stored?.id as number);
    expect(Date.parse(moved?.nextRunAt as string)).toBeGreaterThan(Date.now());
  });

  it("refuses a schedule for a key at SCHEDULES_PER_TOPIC in one line", async () => {
    const { scheduler } = setUp();
    for (let i = 0; i < 20; i += 1) await scheduler.add(key, { at: "in 1h" }, `p${i}`);
    await expect(scheduler.add(key, { at: "in 1h" }, "one more")).rejects.toThrow(
      "this topic has 20 schedules already (SCHEDULES_PER_TOPIC): cancel one first (/schedules)",
    );
    expect(await scheduler.list(key)).toHaveLength(20);
  });
});
