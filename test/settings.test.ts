import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TestApp } from "./support/app-fixture.js";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import { asCommand, callbackUpdate, FIXTURE_USER_ID, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const command = (text: string, threadId = T) => asCommand(topicTextUpdate(text, { threadId }));
type Button = { text: string; callback_data: string };
const buttonsOf = (call: BotApiCall | undefined): Button[] =>
  (
    (call?.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []
  ).flat();

/** The settings list the bot posted last, with its buttons. */
async function settingsList(): Promise<{ call: BotApiCall; buttons: Button[] }> {
  const call = await h.api.waitFor(
    (c) => c.method === "sendMessage" && String(c.payload.text).startsWith("⚙️ Settings"),
  );
  const all = h.api.callsOf("sendMessage").filter((c) => String(c.payload.text).startsWith("⚙️ Settings"));
  const last = all.at(-1) ?? call;
  return { call: last, buttons: buttonsOf(last) };
}

/** Taps the button whose text is `text` under `list`; returns the callback answer's text. */
async function tap(
  bot: TestApp,
  list: { call: BotApiCall; buttons: Button[] },
  text: string,
  userId?: number,
) {
  const button = list.buttons.find((b) => b.text === text);
  if (!button) throw new Error(`no button ${text}: ${list.buttons.map((b) => b.text).join(", ")}`);
  const before = h.api.callsOf("answerCallbackQuery").length;
  await bot.postUpdate(
    callbackUpdate(button.callback_data, {
      threadId: T,
      messageId: list.call.messageId as number,
      ...(userId !== undefined ? { userId } : {}),
    }),
  );
  await h.api.until(() => h.api.callsOf("answerCallbackQuery").length > before);
  return String(h.api.callsOf("answerCallbackQuery").at(-1)?.payload.text);
}

describe("/settings with config options", () => {
  it("lists every option grouped by category, stores a tap and applies it after session/new and load", async () => {
    const bot = await h.start({ agentFlags: ["--settings", "config"] });
    await bot.postUpdate(command("/settings"));
    const list = await settingsList();
    expect(list.call.payload.text).toBe(
      [
        "⚙️ Settings of this topic (tap to change; they apply from the next message on):",
        "",
        "Mode",
        "• Mode: Ask",
        "",
        "Model",
        "• Model: Fast",
        "",
        "Effort",
        "• Effort: Medium",
        "",
        "Model options",
        "• Fast mode: off",
      ].join("\n"),
    );
    expect(list.buttons.map((b) => b.text)).toEqual([
      "✅ Ask",
      "Code",
      "Plan",
      "✅ Fast",
      "Smart",
      "Low",
      "✅ Medium",
      "High",
      "Max",
      "Fast mode: on",
      "✅ Fast mode: off",
    ]);
    for (const b of list.buttons) expect(Buffer.byteLength(b.callback_data)).toBeLessThanOrEqual(64);
    expect(await tap(bot, list, "High")).toBe("Effort: High");
    expect(await tap(bot, list, "Fast mode: on")).toBe("Fast mode: on");
    // The list shows the choice.
    await h.api.until(() =>
      h.api.callsOf("editMessageText").some((c) => String(c.payload.text).includes("• Effort: High")),
    );

    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.waitForText(T, /^settings: mode=ask effort=high fast=true model=fast$/);
    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.api.until(
      () =>
        h.textsIn(T).filter((t) => t === "settings: mode=ask effort=high fast=true model=fast").length === 2,
    );
    const switches = h.agentEvents().filter((e) => e.event === "session/set_config_option");
    // After session/new, then again after session/load (a new process starts on the defaults).
    expect(switches.map((e) => `${e.configId}=${e.value}`)).toEqual([
      "effort=high",
      "fast=true",
      "effort=high",
      "fast=true",
    ]);
    expect(h.agentEvents().filter((e) => e.event === "session/load")).toHaveLength(1);
  });

  it("/mode and /effort jump to their category; a value the agent refuses is dropped with one line", async () => {
    const bot = await h.start({ agentFlags: ["--settings", "config"] });
    await bot.postUpdate(command("/mode"));
    const modes = await settingsList();
    expect(modes.buttons.map((b) => b.text)).toEqual(["✅ Ask", "Code", "Plan"]);
    await bot.postUpdate(command("/mode plan"));
    await h.waitForText(T, /^✅ mode = plan for this topic; it applies from the next message on\.$/);
    await bot.postUpdate(command("/mode nonsense"));
    await h.waitForText(T, /^"nonsense" is not a value of Mode; valid: ask, code, plan\.$/);
    await bot.postUpdate(command("/effort max"));
    await h.waitForText(T, /^✅ effort = max/);

    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.waitForText(T, /^⚠️ The agent refused effort = max \(.*\); your choice was dropped\.$/);
    await h.waitForText(T, /^settings: mode=plan effort=medium fast=false model=fast$/);
    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.api.until(() => h.textsIn(T).filter((t) => t.startsWith("settings: mode=plan")).length === 2);
    // Dropped: not tried again on the second turn.
    const efforts = h
      .agentEvents()
      .filter((e) => e.event === "session/set_config_option" && e.configId === "effort");
    expect(efforts).toEqual([]);
    expect(h.textsIn(T).filter((t) => t.includes("refused effort"))).toHaveLength(1);
  });

  it("drops a choice the agent no longer offers, with one line", async () => {
    const bot = await h.start({ agentFlags: ["--settings", "config"] });
    await bot.postUpdate(command("/effort high"));
    await h.waitForText(T, /^✅ effort = high/);
    fs.writeFileSync(path.join(h.dir, "agent", "no-effort"), "");
    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.waitForText(
      T,
      /^⚠️ The agent no longer offers the setting "effort" \(high\); your choice was dropped\.$/,
    );
    await h.waitForText(T, /^settings: mode=ask/);
    await bot.postUpdate(command("/effort"));
    await h.waitForText(T, /^This agent offers no effort levels for its sessions\.$/);
  });

  it("refuses taps by another user, on a list of an older session and of an unknown list, changing nothing", async () => {
    const bot = await h.start({
      agentFlags: ["--settings", "config"],
      env: { ALLOWED_USER_IDS: `${FIXTURE_USER_ID},999` },
    });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await bot.postUpdate(command("/settings"));
    const list = await settingsList();
    expect(await tap(bot, list, "Plan", 999)).toBe(
      "Only the user who opened these settings can change them.",
    );
    await bot.postUpdate(command("/new"));
    await h.waitForText(T, /starts a new agent session/);
    await bot.postUpdate(topicTextUpdate("again", { threadId: T }));
    await h.waitForText(T, /^echo: again$/);
    expect(await tap(bot, list, "Plan")).toBe("The session changed since; send /settings again.");
    await bot.postUpdate(callbackUpdate("s:nonesuch:0:0", { threadId: T }));
    await h.api.until(() =>
      h.api
        .callsOf("answerCallbackQuery")
        .some((c) => c.payload.text === "These settings are out of date; send /settings again."),
    );
    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.waitForText(T, /^settings: mode=ask effort=medium fast=false model=fast$/);
    expect(h.agentEvents().filter((e) => e.event === "session/set_config_option")).toEqual([]);
  });
});

describe("/mode with the older session modes (no config options)", () => {
  it("lists the modes and applies the choice with session/set_mode after every set-up", async () => {
    const bot = await h.start({ agentFlags: ["--settings", "modes"] });
    await bot.postUpdate(command("/mode"));
    const list = await settingsList();
    expect(list.buttons.map((b) => b.text)).toEqual(["✅ ASK", "CODE", "PLAN"]);
    expect(await tap(bot, list, "CODE")).toBe("Mode: CODE");
    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.waitForText(T, /^settings: mode=code/);
    await bot.postUpdate(topicTextUpdate("which settings", { threadId: T }));
    await h.api.until(() => h.textsIn(T).filter((t) => t.startsWith("settings: mode=code")).length === 2);
    expect(
      h
        .agentEvents()
        .filter((e) => e.event === "session/set_mode")
        .map((e) => e.value),
    ).toEqual(["code", "code"]);
  });
});
