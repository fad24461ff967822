import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { asCommand, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;

/** Sends /status and returns its "Last turn" line. */
async function lastTurnLine(bot: { postUpdate(u: unknown): Promise<number> }, n: number): Promise<string> {
  await bot.postUpdate(asCommand(topicTextUpdate("/status", { threadId: T })));
  await h.api.until(() => h.textsIn(T).filter((t) => t.startsWith("Agent:")).length === n);
  const status = h.textsIn(T).filter((t) => t.startsWith("Agent:"))[n - 1] ?? "";
  return status.split("\n").find((l) => l.startsWith("Last turn:")) ?? "";
}

describe("/status usage", () => {
  it("shows the context percentage and keeps it when a later turn reports no usage", async () => {
    const bot = await h.start({ agentFlags: ["--no-noise"] });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await bot.app.idle();
    expect(await lastTurnLine(bot, 1)).toMatch(
      /^Last turn: end_turn after \d+\.\d s \(context 1,234\/200,000 tokens \(0\.6%\)\)$/,
    );
    await bot.postUpdate(topicTextUpdate("no usage", { threadId: T }));
    await h.waitForText(T, /^echo: no usage$/);
    await bot.app.idle();
    expect(await lastTurnLine(bot, 2)).toMatch(/\(context 1,234\/200,000 tokens \(0\.6%\)\)$/);
  });

  it("shows a percentage the agent reports alone (Kiro's metadata)", async () => {
    const bot = await h.start({ agentFlags: ["--no-noise"] });
    await bot.postUpdate(topicTextUpdate("kiro usage 37", { threadId: T }));
    await h.waitForText(T, /^echo: kiro usage 37$/);
    await bot.app.idle();
    expect(await lastTurnLine(bot, 1)).toMatch(/\(context 37% used\)$/);
  });
});
