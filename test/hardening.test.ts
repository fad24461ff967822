import { describe, expect, it } from "vitest";
import { agentEnvironment } from "../src/acp/agent-command.js";
import { useBotHarness } from "./support/harness.js";
import { asCommand, callbackUpdate, FIXTURE_USER_ID, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 31;
const command = (text: string) => asCommand(topicTextUpdate(text, { threadId: T }));

describe("small hardening", () => {
  it("answers a tap on a button the bot does not know, or with empty data, with an alert", async () => {
    const bot = await h.start();
    for (const data of ["zzz", ""]) {
      await bot.postUpdate(callbackUpdate(data, { threadId: T }));
      await h.api.until(() => h.api.callsOf("answerCallbackQuery").length === (data === "" ? 2 : 1));
    }
    for (const call of h.api.callsOf("answerCallbackQuery")) {
      expect(call.payload).toMatchObject({ text: "This button is no longer valid.", show_alert: true });
    }
  });

  it("lets another user's tap on a /model list change only their choice, not the shared list", async () => {
    const other = 999;
    const bot = await h.start({
      agentFlags: ["--models", "config"],
      env: { ALLOWED_USER_IDS: `${FIXTURE_USER_ID},${other}` },
    });
    await bot.postUpdate(command("/model"));
    const list = await h.api.waitFor(
      (c) => c.method === "sendMessage" && /^Models/.test(String(c.payload.text)),
    );
    await bot.postUpdate(
      callbackUpdate("m:smart", { threadId: T, userId: other, messageId: list.messageId as number }),
    );
    await h.waitForText(T, /Model for this topic: smart/);
    expect(h.api.callsOf("editMessageText")).toEqual([]);
    // The owner's own tap updates the list.
    await bot.postUpdate(callbackUpdate("m:fast", { threadId: T, messageId: list.messageId as number }));
    await h.api.until(() => h.api.callsOf("editMessageText").length === 1);
  });

  it("cuts a long model name in its echo, so the reply is still sent", async () => {
    const bot = await h.start({ agentFlags: ["--models", "legacy"] });
    await bot.postUpdate(command(`/model ${"x".repeat(4_080)}`));
    const reply = await h.waitForText(T, /^Unknown model/);
    expect(reply).toBe(`Unknown model "${"x".repeat(64)}…". Valid: auto, fast, smart.`);
  });

  it("says once per topic that an agent without session/load or resume cannot keep the context", async () => {
    const bot = await h.start({ agentFlags: ["--no-load"] });
    for (const text of ["one", "two", "three"]) {
      await bot.postUpdate(topicTextUpdate(text, { threadId: T }));
      await h.waitForText(T, new RegExp(`echo: ${text}`));
    }
    expect(h.textsIn(T).filter((t) => /could not be restored/.test(t))).toHaveLength(1);
  });

  it("names the cause when an agent writes a line over the SDK's message limit", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("huge 33", { threadId: T }));
    const reply = await h.waitForText(T, /could not answer/, 30_000);
    expect(reply).toMatch(
      /the agent sent a line over the 33554432 byte limit of one ACP message during session\/prompt/,
    );
  });

  it("removes a prompt waiting for an agent slot from the queue at once on /cancel", async () => {
    const bot = await h.start({ env: { MAX_CONCURRENT_TURNS: "1", SHUTDOWN_GRACE_MS: "100" } });
    await bot.postUpdate(topicTextUpdate("sleep 20000", { threadId: 1 }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await bot.postUpdate(topicTextUpdate("waiting for a slot", { threadId: T }));
    await h.waitForText(T, /turns are running; yours is queued/);
    await bot.postUpdate(command("/cancel"));
    await h.waitForText(T, /^Dropped 1 queued message\.$/);
    expect(h.agentEvents().filter((e) => e.event === "prompt-start")).toHaveLength(1);
  });

  it("keeps secrets out of the agent's environment by name and by value", () => {
    const token = "7000000001:AAH-secret-token-value-0123456789";
    const env = agentEnvironment(
      { TELEGRAM_BOT_TOKEN: token, COPY_OF_TOKEN: token, PATH: "/bin", EMPTY: "" },
      ["TELEGRAM_BOT_TOKEN"],
      [token, ""],
    );
    expect(env).toEqual({ PATH: "/bin", EMPTY: "" });
  });
});
