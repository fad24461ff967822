import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { TEST_WEBHOOK_SECRET, testAppEnv } from "./support/app-fixture.js";
import { spawnBotProcess } from "./support/bot-process.js";
import { useBotHarness } from "./support/harness.js";
import { isAlive } from "./support/test-agent-command.js";
import {
  asCommand,
  callbackUpdate,
  fixtureUpdate,
  privateTextUpdate,
  topicTextUpdate,
} from "./support/updates.js";

const h = useBotHarness();
const T = 2391;

/** Rows of the turn journal, oldest first. */
const journal = () => {
  const db = new Database(path.join(h.dir, "tg-acp.db"), { readonly: true });
  try {
    return db.prepare("select * from turns order by id").all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};
const agentPids = () =>
  h
    .agentEvents()
    .filter((e) => e.event === "start")
    .map((e) => e.pid);
const promptsSeen = () =>
  h
    .agentEvents()
    .filter((e) => e.event === "prompt-start")
    .map((e) => e.text);

describe("idempotent webhooks", () => {
  it("processes an update once, even when Telegram sends it again after a restart", async () => {
    const bot = await h.start();
    const update = topicTextUpdate("only once", { threadId: T });
    expect(await bot.postUpdate(update)).toBe(200);
    expect(await bot.postUpdate(update)).toBe(200);
    await h.waitForText(T, /^echo: only once$/);
    await bot.stop();
    const again = await h.start();
    expect(await again.postUpdate(update)).toBe(200);
    await again.postUpdate(topicTextUpdate("next", { threadId: T }));
    await h.waitForText(T, /^echo: next$/);
    await again.stop();
    expect(promptsSeen()).toEqual(["only once", "next"]);
  });
});

describe("the turn journal", () => {
  it("records each turn's prompt, answer, state, stop reason and times", async () => {
    const bot = await h.start();
    const update = topicTextUpdate("hello journal", { threadId: T });
    await bot.postUpdate(update);
    await h.waitForText(T, /^echo: hello journal$/);
    await bot.postUpdate(topicTextUpdate("rpc-error", { threadId: T }));
    await h.waitForText(T, /could not answer/);
    await bot.stop();
    const [ok, failed] = journal();
    expect(ok).toMatchObject({
      chat_id: -1001234567890,
      thread_id: T,
      user_id: 111222333,
      update_id: update.update_id,
      prompt: "hello journal",
      answer: "echo: hello journal",
      state: "completed",
      stop_reason: "end_turn",
      error: null,
    });
    for (const field of ["created_at", "started_at", "finished_at"])
      expect(ok?.[field]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(failed).toMatchObject({ prompt: "rpc-error", state: "failed" });
    expect(String(failed?.error)).toMatch(/session\/prompt failed: Internal error/);
  });

  it("after a crash, tells the topic its turn was interrupted and retries it on a tap", async () => {
    const env = testAppEnv({ apiRoot: h.api.url, dir: h.dir, env: { LOG_LEVEL: "info" } });
    const crashed = await spawnBotProcess(env);
    const post = (port: number, update: unknown) =>
      fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET,
        },
        body: JSON.stringify(update),
      });
    await post(crashed.port, topicTextUpdate("sleep 20000", { threadId: T }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    crashed.child.kill("SIGKILL");
    await new Promise((resolve) => crashed.child.once("exit", resolve));
    // The orphaned agent notices its stdin closed and exits by itself.
    await h.api.until(() => agentPids().every((pid) => !isAlive(pid)));
    expect(journal().map((t) => t.state)).toEqual(["running"]);

    const bot = await h.start();
    const notice = await h.api.waitFor(
      (c) => c.method === "sendMessage" && /stopped before it finished/.test(String(c.payload.text)),
    );
    expect(notice.payload.message_thread_id).toBe(T);
    expect(notice.payload.text).toBe("⚠️ The bot stopped before it finished this prompt:\n«sleep 20000»");
    expect(journal()[0]).toMatchObject({ state: "interrupted", interrupt_notified: 1 });
    const retry = (
      notice.payload.reply_markup as { inline_keyboard: Array<Array<{ callback_data: string }>> }
    ).inline_keyboard[0]?.[0];
    expect(retry?.callback_data).toBe(`r:${journal()[0]?.id}`);

    // The retry runs the stored prompt again (made quick by editing it in the journal first).
    const db = new Database(path.join(h.dir, "tg-acp.db"));
    db.prepare("update turns set prompt = 'sleep 10' where id = ?").run(journal()[0]?.id);
    db.close();
    await bot.postUpdate(
      callbackUpdate(retry?.callback_data ?? "", { threadId: T, messageId: notice.messageId ?? 0 }),
    );
    await h.waitForText(T, /^slept 10$/);
    await bot.postUpdate(
      callbackUpdate(retry?.callback_data ?? "", { threadId: T, messageId: notice.messageId ?? 0 }),
    );
    await h.api.until(() => h.api.callsOf("answerCallbackQuery").length === 2);
    expect(h.api.callsOf("answerCallbackQuery").map((c) => c.payload.text)).toEqual([
      "Retrying",
      "This turn was already retried.",
    ]);
    await bot.stop();
    expect(journal().map((t) => [t.state, t.retry_of])).toEqual([
      ["interrupted", null],
      ["completed", journal()[0]?.id],
    ]);
    // A restart does not announce it again.
    await h.start();
    expect(
      h.api.callsOf("sendMessage").filter((c) => /stopped before/.test(String(c.payload.text))),
    ).toHaveLength(1);
  });
});

describe("timeouts", () => {
  it("cancels a turn past TURN_TIMEOUT_MS with session/cancel and tells the topic", async () => {
    // In-process: the agent is prompting within milliseconds, long before the timeout.
    const bot = await h.start({ env: { TURN_TIMEOUT_MS: "600" } });
    await bot.postUpdate(topicTextUpdate("sleep 20000", { threadId: T }));
    await h.waitForText(T, /took longer than 600 ms and was cancelled/);
    await bot.app.idle();
    expect(h.agentEvents().some((e) => e.event === "session/cancel")).toBe(true);
    expect(journal()[0]).toMatchObject({ state: "failed" });
  });

  it("leaves no agent process after a turn past TURN_TIMEOUT_MS", async () => {
    const bot = await h.start({ agent: "subprocess", env: { TURN_TIMEOUT_MS: "600" } });
    await bot.postUpdate(topicTextUpdate("sleep 20000", { threadId: T }));
    await h.waitForText(T, /took longer than 600 ms and was cancelled/);
    await bot.app.idle();
    expect(journal()[0]).toMatchObject({ state: "failed" });
    for (const pid of agentPids()) expect(isAlive(pid)).toBe(false);
  });

  it("kills the process group of an agent that ignores session/cancel", async () => {
    const bot = await h.start({
      agent: "subprocess",
      agentFlags: ["--ignore-cancel", "--fork-child"],
      // Long enough for the agent (and its child) to be up on a loaded machine before it fires.
      env: { TURN_TIMEOUT_MS: "3000", AGENT_STOP_GRACE_MS: "300" },
    });
    await bot.postUpdate(topicTextUpdate("sleep 60000", { threadId: T }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await h.waitForText(T, /took longer than 3 s and was cancelled/);
    await bot.app.idle();
    const forked = h.agentEvents().find((e) => e.event === "forked")?.childPid as number;
    for (const pid of [...agentPids(), forked]) expect(isAlive(pid)).toBe(false);
  });
});

describe("concurrency cap", () => {
  it("runs at most MAX_CONCURRENT_TURNS agents and tells the others they are queued", async () => {
    const bot = await h.start({ env: { MAX_CONCURRENT_TURNS: "1" } });
    await bot.postUpdate(topicTextUpdate("sleep 700", { threadId: 1 }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await bot.postUpdate(topicTextUpdate("sleep 10", { threadId: 2 }));
    await h.waitForText(2, /^⏳ 1 turns are running; yours is queued with 0 ahead\.$/);
    await h.waitForText(2, /^slept 10$/);
    await bot.app.idle();
    const events = h.agentEvents();
    const starts = events.filter((e) => e.event === "start").map((e) => e.at);
    const exits = events.filter((e) => e.event === "exit").map((e) => e.at);
    expect(starts).toHaveLength(2);
    expect(starts[1]).toBeGreaterThanOrEqual(exits[0] ?? Number.POSITIVE_INFINITY);
  });
});

describe("graceful shutdown", () => {
  it("answers 503 to new webhook calls, interrupts turns after the grace period, and offers a retry at the next start", async () => {
    const bot = await h.start({ agent: "subprocess", env: { SHUTDOWN_GRACE_MS: "300" } });
    await bot.postUpdate(topicTextUpdate("sleep 20000", { threadId: T }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await bot.postUpdate(topicTextUpdate("queued behind", { threadId: T }));
    const stopping = bot.stop();
    expect(await bot.postUpdate(topicTextUpdate("too late", { threadId: T }))).toBe(503);
    await stopping;
    expect(journal().map((t) => [t.prompt, t.state])).toEqual([
      ["sleep 20000", "interrupted"],
      ["queued behind", "interrupted"],
    ]);
    await h.waitForText(T, /Interrupted: the bot is shutting down/);
    for (const pid of agentPids()) expect(isAlive(pid)).toBe(false);
    expect(promptsSeen()).toEqual(["sleep 20000"]);

    await h.start();
    await h.api.until(
      () =>
        h.api.callsOf("sendMessage").filter((c) => /stopped before/.test(String(c.payload.text))).length ===
        2,
    );
  });
});

describe("agent failures", () => {
  it("survives junk on the agent's stdout", async () => {
    const bot = await h.start({ agentFlags: ["--junk"] });
    await bot.postUpdate(topicTextUpdate("still fine", { threadId: T }));
    await h.waitForText(T, /^echo: still fine$/);
  });

  it("reports a JSON-RPC error in one line, logs the agent's stderr, and keeps serving", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("rpc-error", { threadId: T }));
    await h.waitForText(T, /^⚠️ The agent could not answer: session\/prompt failed: Internal error\.$/);
    await bot.postUpdate(topicTextUpdate("and now?", { threadId: T }));
    await h.waitForText(T, /^echo: and now\?$/);
    expect(bot.logLines.some((l) => l.includes("backend error: connection refused by model-api"))).toBe(true);
  });
});

describe("bad input", () => {
  it("ignores channel posts, messages from bots and empty text, and refuses prompts over 100,000 characters", async () => {
    const bot = await h.start({ env: { INPUT_DEBOUNCE_MS: "50" } });
    const channelPost = {
      update_id: 990001,
      channel_post: { message_id: 1, date: 1, chat: { id: -1009, type: "channel" }, text: "hi" },
    };
    expect(await bot.postUpdate(channelPost)).toBe(200);
    const fromBot = topicTextUpdate("beep", { threadId: T });
    (fromBot.message as unknown as { from: { is_bot: boolean } }).from.is_bot = true;
    await bot.postUpdate(fromBot);
    await bot.postUpdate(topicTextUpdate("   ", { threadId: T }));
    await bot.postUpdate(topicTextUpdate("x".repeat(100_001), { threadId: T }));
    await h.waitForText(T, /^This prompt has 100,001 characters; the limit is 100,000\./);
    await bot.postUpdate(asCommand(topicTextUpdate("/status", { threadId: T })));
    await h.waitForText(T, /^Agent:/);
    expect(h.agentEvents()).toEqual([]);
    expect(journal()).toEqual([]);
  });

  it("refuses button taps from users outside the allowlist", async () => {
    const bot = await h.start();
    await bot.postUpdate(callbackUpdate("m:auto", { threadId: T, userId: 999 }));
    const answer = await h.api.waitFor((c) => c.method === "answerCallbackQuery");
    expect(answer.payload).toMatchObject({ text: "You are not allowed to use this bot.", show_alert: true });
  });
});

describe("files and sessions on disk", () => {
  it("creates workspaces readable by their owner only", async () => {
    const bot = await h.start();
    await bot.postUpdate(privateTextUpdate("hi"));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-end"));
    const workspace = h.agentEvents().find((e) => e.event === "start")?.cwd as string;
    expect(workspace.startsWith(path.join(h.dir, "workspaces"))).toBe(true);
    expect(fs.statSync(workspace).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(h.dir, "tg-acp.db")).mode & 0o777).toBe(0o600);
  });

  it("expires sessions idle longer than SESSION_TTL_DAYS with their journal, but keeps workspace files", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("Remember this number: 42", { threadId: T }));
    await h.waitForText(T, /memorized 42/);
    await bot.stop();
    const db = new Database(path.join(h.dir, "tg-acp.db"));
    db.prepare("update sessions set last_activity_at = '2020-01-01T00:00:00.000Z'").run();
    db.close();
    const workspace = h.agentEvents().find((e) => e.event === "start")?.cwd as string;

    const again = await h.start({ env: { SESSION_TTL_DAYS: "30" } });
    const check = new Database(path.join(h.dir, "tg-acp.db"), { readonly: true });
    expect(check.prepare("select count(*) as n from sessions").get()).toEqual({ n: 0 });
    expect(check.prepare("select count(*) as n from turns").get()).toEqual({ n: 0 });
    check.close();
    expect(fs.existsSync(workspace)).toBe(true);
    await again.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: T }));
    await h.waitForText(T, /not asked me/);
  });
});

void fixtureUpdate;
