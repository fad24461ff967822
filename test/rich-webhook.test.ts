import { describe, expect, it } from "vitest";
import { PROGRESS_HEADER } from "../src/telegram/progress-message.js";
import { useBotHarness } from "./support/harness.js";
import { streamText } from "./support/stream-text.js";
import { FIXTURE_USER_ID, privateTextUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
/** The answer's messages in a topic (the progress message left out). */
const answerIn = (threadId: number | undefined, chatId?: number) =>
  h.api.messagesIn(threadId, chatId).filter((m) => !m.text.startsWith(PROGRESS_HEADER));
const MARKDOWN = "**Bold** and `a<b`\n\n```ts\nconst a = 1 < 2;\n```";

describe("rich messages through the webhook (mock Bot API checks their parameters)", () => {
  it("RICH_MESSAGES=final sends a short answer as one rich message with the agent's Markdown", async () => {
    const bot = await h.start({ env: { RICH_MESSAGES: "final" } });
    await bot.postUpdate(topicTextUpdate("markdown", { threadId: 31 }));
    await h.api.until(() => h.api.callsOf("sendRichMessage").some((c) => c.status === 200));
    await bot.app.idle();
    expect(answerIn(31)).toEqual([expect.objectContaining({ text: MARKDOWN, rich: true })]);
    expect(h.api.callsOf("sendRichMessage")[0]?.payload).toMatchObject({ message_thread_id: 31 });
    expect(
      h.api.callsOf("sendMessage").filter((c) => !String(c.payload.text).startsWith(PROGRESS_HEADER)),
    ).toEqual([]);
  });

  it("RICH_MESSAGES=final replaces a streamed answer by rich messages; none over 32,768 characters", async () => {
    const bot = await h.start({ env: { RICH_MESSAGES: "final", MAX_ANSWER_CHARS: "100000" } });
    await bot.postUpdate(topicTextUpdate("stream 34000 100 2000", { threadId: 32 }));
    await h.api.until(() => answerIn(32).filter((m) => m.rich).length === 2, 100_000);
    await bot.app.idle();
    const shown = answerIn(32);
    expect(shown.every((m) => m.rich && m.text.length <= 32_768)).toBe(true);
    expect(shown.map((m) => m.text).join("\n\n")).toBe(streamText(34_000).trim());
    // The HTML messages that streamed it: the first became the rich one, the others were deleted.
    const streamed = h.api
      .callsOf("sendMessage")
      .filter((c) => !String(c.payload.text).startsWith(PROGRESS_HEADER));
    expect(streamed.length).toBeGreaterThan(1);
    expect(h.api.callsOf("deleteMessage").map((c) => [c.payload.message_id, c.status])).toEqual(
      streamed.slice(1).map((c) => [c.messageId, 200]),
    );
    expect(shown[0]?.messageId).toBe(streamed[0]?.messageId);
  }, 120_000);

  it("RICH_MESSAGES=stream streams rich drafts in a private chat, then the rich message", async () => {
    const bot = await h.start({ env: { RICH_MESSAGES: "stream" } });
    await bot.postUpdate(privateTextUpdate("stream 3000 200"));
    await h.api.until(() => h.api.callsOf("sendRichMessage").some((c) => c.status === 200), 30_000);
    await bot.app.idle();
    expect(h.api.callsOf("sendRichMessageDraft").length).toBeGreaterThan(0);
    expect(h.api.callsOf("sendRichMessageDraft").every((c) => c.status === 200)).toBe(true);
    const shown = answerIn(undefined, FIXTURE_USER_ID);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.rich).toBe(true);
    expect(
      h.api.callsOf("sendMessage").filter((c) => !String(c.payload.text).startsWith(PROGRESS_HEADER)),
    ).toEqual([]);
  });

  it("falls back to HTML, text complete, when the server refuses rich messages", async () => {
    h.api.fail("sendRichMessage", 400, "Bad Request: method is not available");
    const bot = await h.start({ env: { RICH_MESSAGES: "final" } });
    await bot.postUpdate(topicTextUpdate("markdown", { threadId: 33 }));
    await h.waitForText(33, /Bold<\/b> and/);
    await bot.app.idle();
    expect(h.textsIn(33)).toEqual([
      '<b>Bold</b> and <code>a&lt;b</code>\n\n<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>',
    ]);
    expect(h.api.callsOf("sendMessage")[0]?.payload.parse_mode).toBe("HTML");
  });
});
