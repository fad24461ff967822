import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TestApp } from "./support/app-fixture.js";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import {
  asCommand,
  callbackUpdate,
  FIXTURE_CHAT_ID,
  FIXTURE_USER_ID,
  topicTextUpdate,
} from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const OTHER_USER = 999;
const command = (text: string, threadId = T) => asCommand(topicTextUpdate(text, { threadId }));
type Button = { text: string; callback_data: string };
const buttonsOf = (call: BotApiCall): Button[] =>
  ((call.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat();

/** Writes a session into the test agent's store, as if made in a terminal. */
function agentSession(
  cwd: string,
  title: string,
  history: Array<{ role: string; text: string }> = [],
): string {
  const dir = path.join(h.dir, "agent", "sessions");
  fs.mkdirSync(dir, { recursive: true });
  const sessionId = randomUUID();
  fs.writeFileSync(path.join(dir, `${sessionId}.json`), JSON.stringify({ cwd, history, title }));
  return sessionId;
}

async function tap(bot: TestApp, data: string, messageId: number, userId = FIXTURE_USER_ID): Promise<string> {
  const before = h.api.callsOf("answerCallbackQuery").length;
  await bot.postUpdate(callbackUpdate(data, { threadId: T, messageId, userId }));
  await h.api.until(() => h.api.callsOf("answerCallbackQuery").length > before);
  return String(h.api.callsOf("answerCallbackQuery").at(-1)?.payload.text);
}

describe("/sessions agent", () => {
  it("lists the agent's sessions and adopts one whose cwd is under ADOPT_ROOTS; refuses others", async () => {
    const project = path.join(h.dir, "projects", "p1");
    fs.mkdirSync(project, { recursive: true });
    const adopted = agentSession(project, "Old work", [
      { role: "user", text: "Remember this number: 42" },
      { role: "agent", text: "Got it, I memorized 42." },
    ]);
    agentSession("/", "Elsewhere");
    const bot = await h.start({
      agentFlags: ["--list"],
      env: {
        ADOPT_ROOTS: path.join(h.dir, "projects"),
        ALLOWED_USER_IDS: `${FIXTURE_USER_ID},${OTHER_USER}`,
      },
    });
    await bot.postUpdate(command("/sessions agent"));
    const list = await h.api.waitFor(
      (c) => c.method === "sendMessage" && String(c.payload.text).startsWith("The agent's own sessions"),
    );
    const lines = String(list.payload.text).split("\n").slice(1);
    expect(lines).toHaveLength(2);
    const indexOf = (title: string) => lines.findIndex((l) => l.includes(title));
    expect(lines[indexOf("Old work")]).toMatch(
      new RegExp(`^\\d\\. Old work — ${project}, updated \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$`),
    );
    const button = (title: string) => buttonsOf(list)[indexOf(title)] as Button;
    const messageId = list.messageId as number;

    expect(await tap(bot, button("Elsewhere").callback_data, messageId)).toBe(
      "/ is outside WORKSPACE_BASE_PATH and ADOPT_ROOTS; not adopted.",
    );
    expect(await tap(bot, button("Old work").callback_data, messageId, OTHER_USER)).toBe(
      "Only the user who asked for this list can adopt from it.",
    );
    expect(await tap(bot, button("Old work").callback_data, messageId)).toBe("Adopted.");
    await h.waitForText(T, /^🔗 This topic now continues the agent's session "Old work"/);
    await bot.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: T }));
    await h.waitForText(T, /^You asked me to remember 42\.$/);
    const load = h.agentEvents().find((e) => e.event === "session/load");
    expect(load).toMatchObject({ sessionId: adopted, cwd: fs.realpathSync(project) });
  });

  it("says so when the agent offers no session/list", async () => {
    const bot = await h.start();
    await bot.postUpdate(command("/sessions agent"));
    await h.waitForText(T, /^This agent does not list its sessions \(it offers no session\/list\)\.$/);
  });
});

describe("/fork", () => {
  it("forks the topic's session into a new forum topic", async () => {
    const bot = await h.start({ agentFlags: ["--fork"] });
    await bot.postUpdate(command("/fork"));
    await h.waitForText(T, /^This topic has no session to fork yet\.$/);
    await bot.postUpdate(topicTextUpdate("Remember this number: 7", { threadId: T }));
    await h.waitForText(T, /memorized 7/);
    await bot.postUpdate(command("/fork"));
    await h.waitForText(T, /^🍴 Forked: the copy of this session continues in the new topic "Fork"\.$/);
    const created = h.api.callsOf("createForumTopic")[0];
    expect(created?.payload).toEqual({ chat_id: FIXTURE_CHAT_ID, name: "Fork" });
    const forkThread = [...h.api.topicNames.entries()].find(([, name]) => name === "Fork")?.[0].split(":")[1];
    const N = Number(forkThread);
    await h.waitForText(N, /^🍴 A fork of the session/);
    await bot.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: N }));
    await h.waitForText(N, /^You asked me to remember 7\.$/);
    const fork = h.agentEvents().find((e) => e.event === "session/fork");
    expect(
      h
        .agentEvents()
        .filter((e) => e.event === "session/load")
        .at(-1)?.sessionId,
    ).toBe(fork?.sessionId);
  });

  it("refuses when the agent cannot fork", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await bot.postUpdate(command("/fork"));
    await h.waitForText(T, /^This agent cannot fork sessions \(it offers no session\/fork\)\.$/);
    expect(h.api.callsOf("createForumTopic")).toEqual([]);
  });
});

describe("NEW_OPENS_TOPIC and closed topics", () => {
  it("/new opens the fresh session in a new topic; the old topic keeps its own", async () => {
    const bot = await h.start({ env: { NEW_OPENS_TOPIC: "true" } });
    await bot.postUpdate(topicTextUpdate("Remember this number: 5", { threadId: T }));
    await h.waitForText(T, /memorized 5/);
    await bot.postUpdate(command("/new"));
    await h.waitForText(
      T,
      /^🆕 The fresh session is in the new topic "New session"; this topic keeps its own\.$/,
    );
    expect(h.api.callsOf("createForumTopic")[0]?.payload).toEqual({
      chat_id: FIXTURE_CHAT_ID,
      name: "New session",
    });
    await bot.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: T }));
    await h.waitForText(T, /^You asked me to remember 5\.$/);
  });

  it("closing a forum topic closes its session (session/close) and the next message starts a new one", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("Remember this number: 9", { threadId: T }));
    await h.waitForText(T, /memorized 9/);
    await bot.app.idle();
    const sessionId = h.agentEvents().find((e) => e.event === "session/new")?.sessionId;
    const closesBefore = h.agentEvents().filter((e) => e.event === "session/close").length;
    const closed = topicTextUpdate("x", { threadId: T }) as unknown as { message: Record<string, unknown> };
    delete closed.message.text;
    closed.message.forum_topic_closed = {};
    await bot.postUpdate(closed);
    await h.api.until(() => h.agentEvents().filter((e) => e.event === "session/close").length > closesBefore);
    expect(
      h
        .agentEvents()
        .filter((e) => e.event === "session/close")
        .at(-1)?.sessionId,
    ).toBe(sessionId);
    await bot.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: T }));
    await h.waitForText(T, /not asked me/);
    expect(h.agentEvents().filter((e) => e.event === "session/new")).toHaveLength(2);
  });
});
