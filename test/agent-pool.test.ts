import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { isAlive } from "./support/test-agent-command.js";
import { asCommand, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 42;
const events = (name: string) => h.agentEvents().filter((e) => e.event === name);

describe("warm spare agent processes", () => {
  it("answers a fresh topic from a spare started before the prompt, with the session in the topic's workspace", async () => {
    const bot = await h.start({ env: { AGENT_WARM_SPARES: "1" } });
    await h.api.until(() => events("start").length === 1);
    const postedAt = Date.now();
    await bot.postUpdate(topicTextUpdate("Remember this number: 7", { threadId: T }));
    await h.waitForText(T, /memorized 7/);
    const [spare] = events("start");
    expect(String(spare?.cwd)).toMatch(/\.spares$/);
    expect(spare?.at).toBeLessThan(postedAt);
    const created = events("session/new")[0];
    expect(created?.pid).toBe(spare?.pid);
    expect(String(created?.cwd)).toContain(`/workspaces/${-1001234567890}/${T}/`);
    // A replacement is started at once, and the spent spare ended after its turn.
    await h.api.until(() => events("start").length === 2 && events("exit").length === 1);
  });

  it("replaces a spare that fails initialize no sooner than the retry delay; turns do not wait for it", async () => {
    const bot = await h.start({
      agentFlags: ["--fail-init-in", ".spares"],
      env: { AGENT_WARM_SPARES: "1", AGENT_SPARE_RETRY_MS: "300" },
    });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /echo: hello/);
    await h.api.until(() => events("initialize-failed").length >= 3);
    const attempts = events("initialize-failed").map((e) => e.at);
    for (let i = 1; i < attempts.length; i++) {
      expect((attempts[i] ?? 0) - (attempts[i - 1] ?? 0)).toBeGreaterThanOrEqual(300);
    }
    expect(bot.logLines.some((l) => l.includes("a spare agent process failed to start"))).toBe(true);
  });

  it("replaces a spare older than AGENT_SPARE_MAX_AGE_MS", async () => {
    await h.start({ env: { AGENT_WARM_SPARES: "1", AGENT_SPARE_MAX_AGE_MS: "200" } });
    await h.api.until(() => events("start").length >= 2 && events("exit").length >= 1);
  });

  it("ends the spares when the bot stops", async () => {
    const bot = await h.start({ agent: "subprocess", env: { AGENT_WARM_SPARES: "2" } });
    await h.api.until(() => events("start").length === 2);
    await bot.stop();
    for (const start of events("start")) expect(isAlive(start.pid)).toBe(false);
  });
});

describe("AGENT_KEEP_ALIVE_MS", () => {
  it("prompts the topic's kept process directly on a follow-up, and /new ends it", async () => {
    const bot = await h.start({ env: { AGENT_KEEP_ALIVE_MS: "60000" } });
    await bot.postUpdate(topicTextUpdate("Remember this number: 5", { threadId: T }));
    await h.waitForText(T, /memorized 5/);
    await bot.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: T }));
    await h.waitForText(T, /remember 5/);
    expect(events("start")).toHaveLength(1);
    expect(events("session/new")).toHaveLength(1);
    expect([...events("session/load"), ...events("session/resume"), ...events("exit")]).toEqual([]);
    const update = topicTextUpdate("/new", { threadId: T });
    await bot.postUpdate(asCommand(update));
    await h.waitForText(T, /starts a new agent session/);
    await h.api.until(() => events("exit").length === 1);
    await bot.postUpdate(topicTextUpdate("hello again", { threadId: T }));
    await h.waitForText(T, /echo: hello again/);
    expect(events("session/new")).toHaveLength(2);
  });

  it("ends a kept process after the idle time, and when another topic needs the slot", async () => {
    const idle = await h.start({ env: { AGENT_KEEP_ALIVE_MS: "200" } });
    await idle.postUpdate(topicTextUpdate("hi", { threadId: T }));
    await h.waitForText(T, /echo: hi/);
    await h.api.until(() => events("exit").length === 1);
    await idle.stop();

    const busy = await h.start({ env: { AGENT_KEEP_ALIVE_MS: "60000", MAX_CONCURRENT_TURNS: "1" } });
    await busy.postUpdate(topicTextUpdate("first", { threadId: 1 }));
    await h.waitForText(1, /echo: first/);
    const exitsBefore = events("exit").length;
    await busy.postUpdate(topicTextUpdate("second", { threadId: 2 }));
    await h.waitForText(2, /echo: second/);
    expect(events("exit").length).toBeGreaterThan(exitsBefore);
  });
});
