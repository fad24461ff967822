import { describe, expect, it } from "vitest";
import { StartupError } from "../src/operator-error.js";
import { startTestApp, TEST_BOT_TOKEN } from "./support/app-fixture.js";
import { useBotHarness } from "./support/harness.js";
import {
  FIXTURE_CHAT_ID,
  FIXTURE_USER_ID,
  fixtureUpdate,
  privateTextUpdate,
  topicTextUpdate,
} from "./support/updates.js";

const h = useBotHarness();
const agentEvents = () => h.agentEvents();
const sent = () => h.api.callsOf("sendMessage");
const start = (options: Parameters<typeof h.start>[0] = {}) => h.start(options);

describe("routing replies", () => {
  it("answers in the General topic and in a private chat without message_thread_id", async () => {
    const bot = await start();
    const general = fixtureUpdate("supergroup_general_topic_message");
    await bot.postUpdate(general);
    await bot.postUpdate(privateTextUpdate("hi there"));
    await h.api.until(() => h.textsIn(undefined).length === 2);
    await bot.app.stop();
    expect(h.textsIn(undefined, FIXTURE_CHAT_ID)).toEqual(["echo: @mock_test_bot hello from General"]);
    expect(h.textsIn(undefined, FIXTURE_USER_ID)).toEqual(["echo: hi there"]);
    for (const call of [...sent(), ...h.api.callsOf("sendChatAction")]) {
      expect(call.payload.message_thread_id).toBeUndefined();
    }
  });

  it("splits an answer over 4096 characters into several messages in the topic", async () => {
    const bot = await start();
    await bot.postUpdate(topicTextUpdate("long 9000", { threadId: 77 }));
    await h.api.until(() => h.textsIn(77).join("").length === 9000);
    await bot.app.idle();
    const parts = h.textsIn(77);
    expect(parts.length).toBe(3);
    expect(parts.every((p) => p.length <= 4096)).toBe(true);
    expect(parts.join("")).toBe("x".repeat(9000));
    expect(sent().every((c) => c.payload.message_thread_id === 77)).toBe(true);
  });

  it("tells the user in one line that stickers and other media do not reach the agent", async () => {
    const bot = await start();
    const sticker = topicTextUpdate("", { threadId: 31 });
    const message = sticker.message as Record<string, unknown>;
    delete message.text;
    message.sticker = {
      file_id: "s1",
      file_unique_id: "s1",
      type: "regular",
      width: 512,
      height: 512,
      is_animated: false,
      is_video: false,
    };
    await bot.postUpdate(sticker);
    const reply = await h.waitForText(31, /reach the agent/);
    expect(reply).toBe(
      "Only text, photos, documents, voice notes and audio files reach the agent; this sticker was not sent to it.",
    );
    expect(agentEvents()).toEqual([]);
  });

  it("ignores service messages such as forum_topic_created", async () => {
    const bot = await start();
    await bot.postUpdate(fixtureUpdate("forum_topic_created"));
    await bot.postUpdate(topicTextUpdate("after", { threadId: 5 }));
    await h.waitForText(5, /after/);
    await bot.app.stop();
    expect(
      sent()
        .filter((c) => !String(c.payload.text).startsWith("⚙️"))
        .map((c) => c.payload.text),
    ).toEqual(["echo: after"]);
  });
});

describe("access", () => {
  it("serves nobody outside ALLOWED_USER_IDS: nothing spawned, nothing posted in a group", async () => {
    const bot = await start();
    const stranger = 999000111;
    expect(await bot.postUpdate(topicTextUpdate("rm -rf /", { threadId: 2391, userId: stranger }))).toBe(200);
    expect(await bot.postUpdate(privateTextUpdate("let me in", { userId: stranger }))).toBe(200);
    const refusal = await h.api.waitFor((c) => c.method === "sendMessage");
    await bot.app.stop();
    expect(refusal.payload.chat_id).toBe(stranger);
    expect(refusal.payload.text).toContain(String(stranger));
    expect(refusal.payload.text).toMatch(/not allowed/);
    expect(sent()).toHaveLength(1);
    expect(h.api.callsOf("sendChatAction")).toEqual([]);
    expect(agentEvents()).toEqual([]);
  });

  it("logs each update with its update_id, chat and forum topic", async () => {
    const bot = await start();
    const update = topicTextUpdate("hello", { threadId: 2391, userId: 999000111 });
    await bot.postUpdate(update);
    await h.api.until(() => bot.logLines.some((l) => l.includes("not in ALLOWED_USER_IDS")));
    const line = JSON.parse(bot.logLines.find((l) => l.includes("not in ALLOWED_USER_IDS")) ?? "{}");
    expect(line).toMatchObject({
      update_id: update.update_id,
      chat_id: FIXTURE_CHAT_ID,
      thread_id: 2391,
      user_id: 999000111,
    });
  });

  it("serves nobody at all when ALLOWED_USER_IDS is empty", async () => {
    const bot = await start({ env: { ALLOWED_USER_IDS: "" } });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: 2391 }));
    await bot.app.stop();
    expect(sent()).toEqual([]);
    expect(agentEvents()).toEqual([]);
  });
});

describe("order", () => {
  it("runs one turn at a time per topic, in order, and different topics in parallel", async () => {
    const bot = await start();
    await bot.postUpdate(topicTextUpdate("sleep 600", { threadId: 1 }));
    await bot.postUpdate(topicTextUpdate("second in topic 1", { threadId: 1 }));
    await bot.postUpdate(topicTextUpdate("sleep 600", { threadId: 2 }));
    await h.api.until(() => h.textsIn(1).length === 3 && h.textsIn(2).length === 1);
    await bot.app.stop();

    // The second message waited for the first turn: the bot said so (with its Send now button).
    expect(h.textsIn(1)).toEqual([
      "⏳ Queued: the agent is still answering the previous message.",
      "slept 600",
      "echo: second in topic 1",
    ]);
    const events = agentEvents();
    const pidOf = (text: string, threadId: number) =>
      events.find(
        (e) =>
          e.event === "prompt-start" &&
          e.text === text &&
          String(events.find((s) => s.event === "start" && s.pid === e.pid)?.cwd).includes(`/${threadId}/`),
      )?.pid;
    const firstPid = pidOf("sleep 600", 1);
    const secondPid = pidOf("second in topic 1", 1);
    const otherPid = pidOf("sleep 600", 2);
    const at = (pid: number | undefined, event: string) =>
      events.find((e) => e.pid === pid && e.event === event)?.at ?? Number.NaN;
    // The second turn of topic 1 started its agent only after the first agent process exited.
    expect(at(secondPid, "start")).toBeGreaterThanOrEqual(at(firstPid, "exit"));
    // Topic 2's turn overlapped topic 1's first turn.
    expect(at(otherPid, "prompt-start")).toBeLessThan(at(firstPid, "prompt-end"));
  });

  it("acknowledges the webhook before the turn is over", async () => {
    const bot = await start();
    expect(await bot.postUpdate(topicTextUpdate("sleep 1500", { threadId: 3 }))).toBe(200);
    expect(sent()).toEqual([]);
    await h.waitForText(3, /^slept 1500$/);
  });
});

describe("failures", () => {
  it("reports an agent that dies mid-turn in the topic and keeps serving", async () => {
    const bot = await start();
    await bot.postUpdate(topicTextUpdate("crash", { threadId: 9 }));
    const error = await h.waitForText(9, /could not answer/);
    expect(error).toBe("⚠️ The agent could not answer: the agent exited with code 3 during session/prompt.");
    await bot.postUpdate(topicTextUpdate("still there?", { threadId: 9 }));
    await h.waitForText(9, /^echo: still there\?$/);
  });

  it("posts an agent's notice (ACP Session Notices) as its own line, apart from the answer", async () => {
    const bot = await start();
    await bot.postUpdate(topicTextUpdate("notice", { threadId: 12 }));
    await h.waitForText(12, /^answered after a notice$/);
    await bot.app.idle();
    expect(h.textsIn(12)).toEqual([
      "⚠️ MCP server failed to start: github: exited with code 1",
      "answered after a notice",
    ]);
  });

  it("fails start-up with one line when the agent binary is missing", async () => {
    const failing = startTestApp({
      apiRoot: h.api.url,
      dir: h.dir,
      env: { ACP_AGENT_COMMAND: "no-such-agent-binary acp" },
    });
    await expect(failing).rejects.toThrow(/^ACP_AGENT_COMMAND: `no-such-agent-binary` was not found on PATH/);
  });

  it("fails start-up with one line, without the token, when the Bot API is unreachable", async () => {
    await h.api.close();
    const failing = startTestApp({ apiRoot: "http://127.0.0.1:9", dir: h.dir });
    await expect(failing).rejects.toThrow(StartupError);
    await expect(failing).rejects.toThrow(/^Telegram getMe failed/);
    await expect(failing).rejects.not.toThrow(TEST_BOT_TOKEN);
  });

  it("never writes the bot token to the log, even when a Bot API call fails with its URL", async () => {
    const bot = await start({ env: { TELEGRAM_RETRIES: "1" } });
    await h.api.close();
    await bot.postUpdate(topicTextUpdate("hello", { threadId: 4 }));
    await bot.app.stop();
    const failures = bot.logLines.filter((line) => line.includes("could not post to the topic"));
    expect(failures.length).toBeGreaterThan(0);
    expect(bot.logLines.join("")).toContain("[REDACTED]");
    for (const line of bot.logLines) expect(line).not.toContain(TEST_BOT_TOKEN);
  });
});
