import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import {
  asCommand,
  callbackUpdate,
  FIXTURE_USER_ID,
  fixtureUpdate,
  privateTextUpdate,
  topicTextUpdate,
} from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const command = (text: string, threadId = T) => asCommand(topicTextUpdate(text, { threadId }));

describe("/help and the command menu", () => {
  it("registers the commands with setMyCommands and answers /help in a topic, the General topic and a private chat", async () => {
    const bot = await h.start();
    const menu = h.api.callsOf("setMyCommands")[0]?.payload.commands as Array<{ command: string }>;
    expect(menu.map((c) => c.command)).toEqual([
      "new",
      "model",
      "settings",
      "mode",
      "effort",
      "cancel",
      "status",
      "sessions",
      "fork",
      "schedule",
      "schedules",
      "help",
    ]);

    await bot.postUpdate(command("/help@mock_test_bot"));
    const general = fixtureUpdate("supergroup_general_topic_message");
    general.message.text = "/help";
    await bot.postUpdate(asCommand(general));
    await bot.postUpdate(asCommand(privateTextUpdate("/start")));
    await h.waitForText(T, /\/model/);
    await h.api.waitFor((c) => c.method === "sendMessage" && c.payload.chat_id === FIXTURE_USER_ID);
    await h.api.waitFor(
      (c) =>
        c.method === "sendMessage" &&
        c.payload.chat_id !== FIXTURE_USER_ID &&
        c.payload.message_thread_id === undefined,
    );
    await bot.stop();
    expect(h.agentEvents()).toEqual([]); // commands never reach the agent
  });
});

describe("/new", () => {
  it("starts a fresh session on the next message, keeping workspace and model", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("Remember this number: 1234", { threadId: T }));
    await h.waitForText(T, /memorized 1234/);
    await bot.postUpdate(command("/model auto"));
    await h.waitForText(T, /Model for this topic: auto/);
    await bot.postUpdate(command("/new"));
    await h.waitForText(T, /starts a new agent session/);
    await bot.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: T }));
    await h.waitForText(T, /not asked me/);
    await bot.stop();
    const events = h.agentEvents();
    const created = events.filter(
      (e) => e.event === "session/new" && !String(e.cwd).includes("tg-acp-probe-"),
    );
    expect(created).toHaveLength(2);
    expect(created[1]?.cwd).toBe(created[0]?.cwd);
    expect(events.filter((e) => e.event === "session/load")).toEqual([]);
  });
});

describe("/model", () => {
  for (const dialect of ["legacy", "config"] as const) {
    it(`lists the agent's models before the first message and applies the choice after new and load (${dialect})`, async () => {
      const bot = await h.start({ agentFlags: ["--models", dialect] });
      await bot.postUpdate(command("/model"));
      const list = await h.api.waitFor(
        (c) => c.method === "sendMessage" && /^Models/.test(String(c.payload.text)),
      );
      expect(String(list.payload.text)).toMatch(/✅ auto/);
      const keyboard = (
        list.payload.reply_markup as {
          inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
        }
      ).inline_keyboard;
      expect(keyboard.flat().map((b) => b.callback_data)).toEqual(["m:auto", "m:fast", "m:smart"]);

      if (dialect === "legacy") {
        await bot.postUpdate(command("/model@mock_test_bot smart"));
      } else {
        await bot.postUpdate(callbackUpdate("m:smart", { threadId: T }));
        await h.api.waitFor((c) => c.method === "answerCallbackQuery");
      }
      await h.waitForText(T, /Model for this topic: smart/);
      await bot.postUpdate(topicTextUpdate("which model", { threadId: T }));
      await h.waitForText(T, /^model: smart$/);
      await bot.postUpdate(topicTextUpdate("which model", { threadId: T }));
      await h.api.waitFor(() => h.textsIn(T).filter((t) => t === "model: smart").length === 2);
      await bot.stop();

      const method = dialect === "legacy" ? "session/set_model" : "session/set_config_option";
      const switches = h.agentEvents().filter((e) => e.event === method);
      expect(switches.map((e) => e.model)).toEqual(["smart", "smart"]); // after session/new, then after session/load
      expect(h.agentEvents().filter((e) => e.event === "session/load")).toHaveLength(1);
    });
  }

  it("refuses an unknown model and lists the valid ones", async () => {
    const bot = await h.start({ agentFlags: ["--models", "legacy"] });
    await bot.postUpdate(command("/model gpt-9"));
    const reply = await h.waitForText(T, /Unknown model/);
    expect(reply).toBe('Unknown model "gpt-9". Valid: auto, fast, smart.');
  });

  it("says so when the agent offers no model choice", async () => {
    const bot = await h.start();
    await bot.postUpdate(command("/model"));
    await h.waitForText(T, /offers no model choice/);
  });
});

describe("/cancel", () => {
  it("cancels the running turn with session/cancel and drops the queued messages", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("sleep 20000", { threadId: T }));
    await h.api.waitFor(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await bot.postUpdate(topicTextUpdate("queued one", { threadId: T }));
    await bot.postUpdate(topicTextUpdate("queued two", { threadId: T }));
    await bot.postUpdate(command("/cancel"));
    await h.waitForText(T, /Cancelling the running turn\. Dropped 2 queued messages\./);
    await h.waitForText(T, /Stopped: cancelled/);
    await bot.stop();
    const prompts = h
      .agentEvents()
      .filter((e) => e.event === "prompt-start")
      .map((e) => e.text);
    expect(prompts).toEqual(["sleep 20000"]);
    expect(h.agentEvents().find((e) => e.event === "prompt-end")?.stopReason).toBe("cancelled");
  });

  it("says there is nothing to cancel when idle", async () => {
    const bot = await h.start();
    await bot.postUpdate(command("/cancel"));
    await h.waitForText(T, /Nothing to cancel/);
  });
});

describe("/status and /sessions", () => {
  it("shows agent, session, model, workspace, state and the last turn with its usage", async () => {
    const bot = await h.start();
    await bot.postUpdate(command("/status"));
    const before = await h.waitForText(T, /^Agent:/);
    expect(before).toMatch(/Session: none yet/);

    await bot.postUpdate(topicTextUpdate("sleep 1500", { threadId: T }));
    await h.api.waitFor(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await bot.postUpdate(topicTextUpdate("after", { threadId: T }));
    await bot.postUpdate(command("/status"));
    const busy = await h.waitForText(T, /State: working for \d+ s, 1 queued/);
    expect(busy).toMatch(/Model: auto/);

    await h.waitForText(T, /echo: after/);
    // The answer goes out while the agent process is still ending; wait until it is gone.
    await bot.app.idle();
    await bot.postUpdate(command("/status"));
    await h.api.waitFor(() => h.textsIn(T).filter((t) => t.startsWith("Agent:")).length === 3);
    const after = h.textsIn(T).filter((t) => t.startsWith("Agent:"))[2] ?? "";
    const sessionId = h.agentEvents().find((e) => e.event === "session/new")?.sessionId;
    expect(after).toContain(`Session: ${sessionId}`);
    expect(after).toContain(`Workspace: ${h.dir}/workspaces/-1001234567890/${T}/111222333`);
    expect(after).toContain("State: idle");
    expect(after).toMatch(/Last turn: end_turn after \d+\.\d s \(context 1,23\d\/200,000 tokens \(0\.6%\)\)/);
  });

  it("lists the user's sessions in this chat across topics, newest first", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("one", { threadId: 11 }));
    await h.waitForText(11, /echo: one/);
    await bot.postUpdate(topicTextUpdate("two", { threadId: 12 }));
    await h.waitForText(12, /echo: two/);
    await bot.postUpdate(command("/sessions", 12));
    const reply = await h.waitForText(12, /Your sessions/);
    const lines = reply.split("\n").slice(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^• topic 12 \(here\): last active \d{4}-\d\d-\d\d \d\d:\d\d UTC, model auto, session \w{8}…$/,
    );
    expect(lines[1]).toMatch(/^• topic 11: /);
  });
});
