import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import { asCommand, callbackUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const OTHER_USER = 444555666;

type Keyboard = { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> };
const buttonsOf = (call: BotApiCall) => (call.payload.reply_markup as Keyboard).inline_keyboard.flat();
const tap = (prompt: BotApiCall, label: string, userId?: number) => {
  const button = buttonsOf(prompt).find((b) => b.text === label);
  if (!button) throw new Error(`no button ${label}`);
  return callbackUpdate(button.callback_data, {
    threadId: T,
    messageId: prompt.messageId ?? 0,
    ...(userId === undefined ? {} : { userId }),
  });
};
const waitForPrompt = () =>
  h.api.waitFor(
    (c) =>
      c.method === "sendMessage" &&
      c.payload.text === '🔐 The agent asks to use "Run shell command" (execute: rm -rf build).',
  );
/** The latest text of the permission prompt message, once it matches `pattern`. */
const promptText = async (prompt: BotApiCall, pattern: RegExp) => {
  const latest = () => h.api.messagesIn(T).find((m) => m.messageId === prompt.messageId)?.text ?? "";
  await h.api.until(() => pattern.test(latest()));
  return latest();
};

describe("permission requests as inline buttons", () => {
  it("asks in the topic, refuses taps by others, and answers the agent with the owner's choice", async () => {
    const bot = await h.start({ env: { ALLOWED_USER_IDS: `111222333,${OTHER_USER}` } });
    await bot.postUpdate(topicTextUpdate("permission", { threadId: T }));
    const prompt = await waitForPrompt();
    expect(buttonsOf(prompt).map((b) => b.text)).toEqual(["Allow once", "Allow always", "Reject"]);

    await bot.postUpdate(tap(prompt, "Allow once", OTHER_USER));
    const refused = await h.api.waitFor((c) => c.method === "answerCallbackQuery");
    expect(refused.payload).toMatchObject({ show_alert: true, text: expect.stringMatching(/Only the user/) });

    // The webhook is not blocked while the prompt waits.
    await bot.postUpdate(asCommand(topicTextUpdate("/status", { threadId: T })));
    await h.waitForText(T, /State: working/);

    await bot.postUpdate(tap(prompt, "Allow once"));
    await h.waitForText(T, /^permission outcome: allow$/);
    expect(await promptText(prompt, /→/)).toMatch(/→ Allow once \(@anton_tester\)$/);
    expect(h.api.callsOf("answerCallbackQuery").map((c) => c.payload.text)).toEqual([
      "Only the user whose prompt this is can answer it.",
      "Allow once",
    ]);
  });

  it("remembers 'Allow always' for the tool kind and answers later requests without asking", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("permission", { threadId: T }));
    await bot.postUpdate(tap(await waitForPrompt(), "Allow always"));
    await h.waitForText(T, /^permission outcome: always$/);
    await bot.stop();

    // Remembered in the database: a restarted bot still knows.
    const again = await h.start();
    await again.postUpdate(topicTextUpdate("permission", { threadId: T }));
    await h.api.waitFor(() => h.textsIn(T).filter((t) => t === "permission outcome: always").length === 2);
    expect(h.textsIn(T).filter((t) => t.startsWith("🔐"))).toHaveLength(1);
    expect(h.textsIn(T)).toContain(
      '✅ Allowed "Run shell command" (execute: rm -rf build): you chose "always" for execute tools in this topic.',
    );
  });

  it("resolves an unanswered prompt as cancelled after PERMISSION_TIMEOUT_MS; a later tap is told it expired", async () => {
    const bot = await h.start({ env: { PERMISSION_TIMEOUT_MS: "300" } });
    await bot.postUpdate(topicTextUpdate("permission", { threadId: T }));
    const prompt = await waitForPrompt();
    await h.waitForText(T, /^permission cancelled$/);
    // The exact duration (it once said "1 min" for any timeout under a minute).
    expect(await promptText(prompt, /⌛/)).toMatch(/No answer within 300 ms: cancelled\.$/);
    await bot.postUpdate(tap(prompt, "Allow once"));
    const expired = await h.api.waitFor((c) => c.method === "answerCallbackQuery");
    expect(expired.payload).toMatchObject({ text: "This request has expired.", show_alert: true });
  });

  it("resolves an open prompt as cancelled when the turn is cancelled", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("permission", { threadId: T }));
    const prompt = await waitForPrompt();
    await bot.postUpdate(asCommand(topicTextUpdate("/cancel", { threadId: T })));
    await h.waitForText(T, /Stopped: cancelled/);
    expect(await promptText(prompt, /⏹/)).toMatch(/Cancelled with the turn\.$/);
  });

  it("answers without asking under PERMISSION_MODE=allow and =deny", async () => {
    const allow = await h.start({ env: { PERMISSION_MODE: "allow" } });
    await allow.postUpdate(topicTextUpdate("permission", { threadId: T }));
    await h.waitForText(T, /^permission outcome: allow$/);
    await allow.stop();
    const deny = await h.start({ env: { PERMISSION_MODE: "deny" } });
    await deny.postUpdate(topicTextUpdate("permission", { threadId: T }));
    await h.waitForText(T, /^permission outcome: reject$/);
    expect(h.textsIn(T)).toContain(
      '🚫 Refused "Run shell command" (execute: rm -rf build) (PERMISSION_MODE=deny).',
    );
    expect(h.textsIn(T).filter((t) => t.startsWith("🔐"))).toEqual([]);
  });
});
