import { describe, expect, it } from "vitest";
import type { TestApp } from "./support/app-fixture.js";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import { callbackUpdate, FIXTURE_USER_ID, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const OTHER_USER = 999;
type Button = { text: string; callback_data: string };
const buttonsOf = (call: BotApiCall): Button[] =>
  ((call.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat();

/** The first message sent with a button whose data starts with `prefix`, and that button. */
async function messageWithButton(prefix: string): Promise<{ call: BotApiCall; button: Button }> {
  const call = await h.api.waitFor(
    (c) => c.method === "sendMessage" && buttonsOf(c).some((b) => b.callback_data.startsWith(prefix)),
  );
  return { call, button: buttonsOf(call).find((b) => b.callback_data.startsWith(prefix)) as Button };
}

async function tap(bot: TestApp, data: string, messageId: number, userId = FIXTURE_USER_ID): Promise<string> {
  const before = h.api.callsOf("answerCallbackQuery").length;
  await bot.postUpdate(callbackUpdate(data, { threadId: T, messageId, userId }));
  await h.api.until(() => h.api.callsOf("answerCallbackQuery").length > before);
  return String(h.api.callsOf("answerCallbackQuery").at(-1)?.payload.text);
}

/** Whether the message lost its buttons: an edit without reply_markup, or an empty reply markup. */
const buttonsTakenOff = (messageId: number) =>
  h.api
    .callsOf("editMessageReplyMarkup", { message_id: messageId })
    .some((c) => buttonsOf(c).length === 0 && c.status === 200) ||
  h.api
    .callsOf("editMessageText", { message_id: messageId })
    .some((c) => c.payload.reply_markup === undefined);

const start = () => h.start({ env: { ALLOWED_USER_IDS: `${FIXTURE_USER_ID},${OTHER_USER}` } });

describe("⏹ Stop under a running turn", () => {
  it("cancels the turn like /cancel, only for its user, and goes away when the turn ends", async () => {
    const bot = await start();
    await bot.postUpdate(topicTextUpdate("sleep 8000", { threadId: T }));
    const { call, button } = await messageWithButton("x:");
    expect(button.text).toBe("⏹ Stop");
    expect(call.payload.message_thread_id).toBe(T);
    const messageId = call.messageId as number;
    expect(await tap(bot, button.callback_data, messageId, OTHER_USER)).toBe(
      "Only the user whose prompt this is can stop it.",
    );
    expect(h.agentEvents().filter((e) => e.event === "session/cancel")).toEqual([]);
    expect(await tap(bot, button.callback_data, messageId)).toBe("⏹ Cancelling the running turn.");
    await h.api.until(() =>
      h.agentEvents().some((e) => e.event === "prompt-end" && e.stopReason === "cancelled"),
    );
    await bot.app.idle();
    await h.api.until(() => buttonsTakenOff(messageId));
    expect(await tap(bot, button.callback_data, messageId)).toBe("This turn is over.");
    expect(h.agentEvents().filter((e) => e.event === "session/cancel")).toHaveLength(1);
  });

  it("rides on a streamed answer and leaves with its last edit", async () => {
    const bot = await h.start({ agentFlags: ["--no-noise"] });
    await bot.postUpdate(topicTextUpdate("stream 2000 200", { threadId: T }));
    const { call } = await messageWithButton("x:");
    const messageId = call.messageId as number;
    await bot.app.idle();
    await h.api.until(() => buttonsTakenOff(messageId));
    // While the turn ran, its edits kept the button.
    const edits = h.api.callsOf("editMessageText", { message_id: messageId });
    expect(edits.length).toBeGreaterThan(1);
    expect(edits.slice(0, -1).every((c) => buttonsOf(c).some((b) => b.text === "⏹ Stop"))).toBe(true);
  });
});

describe("⏩ Send now under a queued message", () => {
  it("cancels the running turn and sends the queued message next", async () => {
    const bot = await start();
    await bot.postUpdate(topicTextUpdate("sleep 8000", { threadId: T }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    const { call, button } = await messageWithButton("q:");
    expect(call.payload.text).toBe("⏳ Queued: the agent is still answering the previous message.");
    expect(button.text).toBe("⏩ Send now");
    const noteId = call.messageId as number;
    expect(await tap(bot, button.callback_data, noteId, OTHER_USER)).toBe(
      "Only the user who sent this message can send it now.",
    );
    expect(await tap(bot, button.callback_data, noteId)).toBe(
      "⏩ Cancelling the running turn; your message goes next.",
    );
    await h.waitForText(T, /^echo: hello$/);
    await bot.app.idle();
    expect(h.agentEvents().find((e) => e.event === "prompt-end")?.stopReason).toBe("cancelled");
    await h.api.until(() => buttonsTakenOff(noteId));
    expect(await tap(bot, button.callback_data, noteId)).toBe("This message is no longer waiting.");
  });

  it("posts no note when the topic is idle", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await bot.app.idle();
    expect(h.textsIn(T).filter((t) => t.startsWith("⏳ Queued"))).toEqual([]);
  });
});
