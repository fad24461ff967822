import path from "node:path";
import { describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/db/sqlite-store.js";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import {
  asCommand,
  FIXTURE_CHAT_ID,
  FIXTURE_USER_ID,
  tapButton,
  topicTextUpdate,
} from "./support/updates.js";

const h = useBotHarness();
const T = 5101;
const OTHER_USER = 444555666;
const key = { chatId: FIXTURE_CHAT_ID, threadId: T, userId: FIXTURE_USER_ID };
const command = (text: string) => asCommand(topicTextUpdate(text, { threadId: T }));
const start = () =>
  h.start({ agentFlags: ["--no-noise"], env: { ALLOWED_USER_IDS: `${FIXTURE_USER_ID},${OTHER_USER}` } });
const promptsOf = (text: string) =>
  h.agentEvents().filter((e) => e.event === "prompt-start" && e.text === text);

const tap = (message: BotApiCall, label: string, userId?: number) => tapButton(message, label, T, userId);

describe("scheduled prompts, through the webhook", () => {
  it("runs a schedule due in 2 s once, as a turn of its topic with a header line", async () => {
    const bot = await start();
    await bot.postUpdate(command("/schedule in 2s say hello later"));
    expect(await h.waitForText(T, /^⏰ Scheduled #1/)).toMatch(
      /^⏰ Scheduled #1 next \d{4}-\d\d-\d\d \d\d:\d\d UTC, once: say hello later$/,
    );
    await h.waitForText(T, /^echo: say hello later$/);
    await bot.app.idle();
    const texts = h.textsIn(T);
    const header = texts.indexOf("⏰ Scheduled: say hello later (#1)");
    expect(header).toBeGreaterThan(0);
    expect(texts.indexOf("echo: say hello later")).toBeGreaterThan(header);
    expect(promptsOf("say hello later")).toHaveLength(1);
    // A one-shot is gone once it fired: it cannot run again.
    await bot.postUpdate(command("/schedules"));
    await h.waitForText(T, /^You have no schedules in this topic/);
    const store = openSqliteStore(path.join(h.dir, "tg-acp.db"));
    expect(await store.schedules(key)).toEqual([]);
    await store.close();
  });

  it("runs a schedule that came due while the bot was down once at start-up, with a note", async () => {
    const store = openSqliteStore(path.join(h.dir, "tg-acp.db"));
    const missedAt = new Date(Date.now() - 3_600_000).toISOString();
    const stored = await store.addSchedule(
      { key, prompt: "daily check", cron: "0 9 * * *", timeZone: "UTC", nextRunAt: missedAt },
      20,
    );
    await store.close();
    const bot = await start();
    const header = await h.waitForText(T, /^⏰ Scheduled: daily check/);
    expect(header).toMatch(
      /^⏰ Scheduled: daily check \(#1; missed at .* UTC while the bot was down, run once now\)$/,
    );
    await h.waitForText(T, /^echo: daily check$/);
    await bot.app.idle();
    expect(promptsOf("daily check")).toHaveLength(1);
    await bot.app.stop();
    const after = openSqliteStore(path.join(h.dir, "tg-acp.db"));
    const moved = await after.schedule(stored?.id as number);
    await after.close();
    // Moved to its next occurrence after now: one run for the missed one, not one per missed day.
    expect(Date.parse(moved?.nextRunAt as string)).toBeGreaterThan(Date.now());
    expect(moved?.nextRunAt).toMatch(/T09:00:00\.000Z$/);
  });

  it("runs a one-shot that came due across a restart once, after the restart", async () => {
    const first = await start();
    await first.postUpdate(command("/schedule in 2s across the restart"));
    await h.waitForText(T, /^⏰ Scheduled #1 /);
    await first.app.stop();
    const store = openSqliteStore(path.join(h.dir, "tg-acp.db"));
    const [due] = await store.schedules(key);
    await store.close();
    // Let it come due while the bot is down.
    while (Date.now() <= Date.parse(due?.nextRunAt as string)) await new Promise((r) => setTimeout(r, 50));
    const bot = await start();
    await h.waitForText(
      T,
      /^⏰ Scheduled: across the restart \(#1; missed at .* while the bot was down, run once now\)$/,
    );
    await h.waitForText(T, /^echo: across the restart$/);
    await bot.app.idle();
    expect(promptsOf("across the restart")).toHaveLength(1);
    expect(h.textsIn(T).filter((t) => t.startsWith("⏰ Scheduled: across the restart"))).toHaveLength(1);
  });

  it("/schedules lists the topic's schedules with cancel buttons only their owner can use", async () => {
    const bot = await start();
    await bot.postUpdate(command('/schedule "0 9 * * 1-5" morning report'));
    await h.waitForText(T, /^⏰ Scheduled #1 /);
    await bot.postUpdate(command("/schedule 2099-01-01T10:00 far away"));
    await h.waitForText(T, /^⏰ Scheduled #2 next 2099-01-01 10:00 UTC, once: far away$/);
    await bot.postUpdate(command("/schedules"));
    const list = await h.api.waitFor(
      (c) => c.method === "sendMessage" && String(c.payload.text).startsWith("Your schedules in this topic"),
    );
    expect(list.payload.text).toMatch(
      /^Your schedules in this topic:\n• #1 next .*: morning report\n• #2 next /,
    );
    await bot.postUpdate(tap(list, "✖ Cancel #2", OTHER_USER));
    await h.api.waitFor(
      (c) =>
        c.method === "answerCallbackQuery" &&
        c.payload.text === "Only the user who made this schedule can cancel it.",
    );
    await bot.postUpdate(tap(list, "✖ Cancel #2"));
    await h.waitForText(T, /^✖ Schedule #2 cancelled/);
    await bot.postUpdate(tap(list, "✖ Cancel #2"));
    await h.api.waitFor(
      (c) =>
        c.method === "answerCallbackQuery" && c.payload.text === "There is no schedule #2 in this topic.",
    );
    const store = openSqliteStore(path.join(h.dir, "tg-acp.db"));
    expect((await store.schedules(key)).map((s) => s.prompt)).toEqual(["morning report"]);
    await store.close();
  });

  it("answers a /schedule it cannot take in one line and stores nothing", async () => {
    const bot = await start();
    for (const [text, reply] of [
      ["/schedule tomorrow do it", /^Usage: \/schedule <when> <prompt>/],
      [
        "/schedule * * * * * every minute",
        /^⚠️ Not scheduled: "\* \* \* \* \*" fires more often than every 5 min/,
      ],
      ["/schedule 2020-01-01T00:00 the past", /^⚠️ Not scheduled: 2020-01-01T00:00 is in the past\.$/],
      [
        '/schedule "0 25 * * *" bad hour',
        /^⚠️ Not scheduled: the cron expression "0 25 \* \* \*" does not parse/,
      ],
    ] as const) {
      await bot.postUpdate(command(text));
      await h.waitForText(T, reply);
    }
    const store = openSqliteStore(path.join(h.dir, "tg-acp.db"));
    expect(await store.schedules(key)).toEqual([]);
    await store.close();
  });
});
