import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { asCommand, FIXTURE_CHAT_ID, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const command = (text: string, threadId = T) => asCommand(topicTextUpdate(text, { threadId }));
const prompts = () =>
  h
    .agentEvents()
    .filter((e) => e.event === "prompt-start")
    .map((e) => e.text);

describe("the agent's own commands", () => {
  it("pass through as `/name args`, are listed in /help after the bot's and join the chat's menu; clashes are /agent_<name>", async () => {
    const bot = await h.start({ agentFlags: ["--commands", "acp"] });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    const menu = await h.api.waitFor((c) => c.method === "setMyCommands" && c.payload.scope !== undefined);
    expect(menu.status).toBe(200);
    expect(menu.payload.scope).toEqual({ type: "chat", chat_id: FIXTURE_CHAT_ID });
    const names = (menu.payload.commands as Array<{ command: string; description: string }>).map(
      (c) => c.command,
    );
    expect(names.slice(-3)).toEqual(["compact", "review", "agent_status"]);
    expect(names).toContain("status"); // the bot's own stays
    expect(names).not.toContain("review-pr"); // not a name the menu takes

    await bot.postUpdate(command("/help"));
    const help = await h.waitForText(T, /The agent's own commands/);
    expect(help.split("The agent's own commands (sent to it as you type them):\n")[1]).toBe(
      [
        "/compact — Compact the conversation",
        "/review <what to review> — Review the changes",
        "/agent_status — The agent's own status",
        "/review-pr — Review a pull request",
      ].join("\n"),
    );
    expect(help.indexOf("/new")).toBeLessThan(help.indexOf("/compact"));

    await bot.postUpdate(command("/compact"));
    await h.waitForText(T, /^echo: \/compact$/);
    await bot.postUpdate(command("/review@mock_test_bot the last commit"));
    await h.waitForText(T, /^echo: \/review the last commit$/);
    await bot.postUpdate(command("/agent_status"));
    await h.waitForText(T, /^echo: \/status$/);
    await bot.postUpdate(command("/status"));
    await h.waitForText(T, /^Agent: /); // the bot's meaning
    expect(prompts()).toEqual(["hello", "/compact", "/review the last commit", "/status"]);
    // The same commands again: the menu is not set again.
    expect(h.api.callsOf("setMyCommands").filter((c) => c.payload.scope !== undefined)).toHaveLength(1);
  });

  it("takes Kiro's _kiro.dev/commands/available notification too", async () => {
    const bot = await h.start({ agentFlags: ["--commands", "kiro"] });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await h.api.waitFor((c) => c.method === "setMyCommands" && c.payload.scope !== undefined);
    await bot.postUpdate(command("/help"));
    const help = await h.waitForText(T, /The agent's own commands/);
    expect(help).toContain("/compact — Compact the conversation");
    await bot.postUpdate(command("/agent_status now"));
    await h.waitForText(T, /^echo: \/status now$/);
  });

  it("leaves /help and the menu as they are before the agent announced any", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await bot.postUpdate(command("/help"));
    const help = await h.waitForText(T, /\/model/);
    expect(help).not.toContain("agent's own commands");
    expect(h.api.callsOf("setMyCommands").filter((c) => c.payload.scope !== undefined)).toEqual([]);
    await bot.postUpdate(command("/unknown thing"));
    await h.waitForText(T, /^echo: \/unknown thing$/);
  });
});
