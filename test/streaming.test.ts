import { describe, expect, it } from "vitest";
import { PROGRESS_HEADER } from "../src/telegram/progress-message.js";
import { useBotHarness } from "./support/harness.js";
import { INJECTED, startMockBotApi } from "./support/mock-bot-api.js";
import { streamText, visibleWords } from "./support/stream-text.js";
import { FIXTURE_USER_ID, privateTextUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;

describe("streaming through the webhook", () => {
  it("streams into the topic with paced edits, continues past 3900 characters, and loses no text", async () => {
    const bot = await h.start({ env: { STREAM_EDIT_INTERVAL_MS: "300" } });
    await bot.postUpdate(topicTextUpdate("stream 9000 200", { threadId: T }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-end"), 20_000);
    await bot.app.idle();

    const messages = h.api.messagesIn(T).filter((m) => !m.text.startsWith(PROGRESS_HEADER));
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) expect(m.text.length).toBeLessThanOrEqual(4096);
    expect(visibleWords(messages.map((m) => m.text).join("\n\n"))).toEqual(visibleWords(streamText(9000)));

    const edits = h.api.callsOf("editMessageText").filter((c) => c.status === 200);
    expect(edits.length).toBeGreaterThan(messages.length); // streamed, not sent once at the end
    const lastEditOf = new Map<unknown, number>();
    for (const edit of edits) {
      const previous = lastEditOf.get(edit.payload.message_id);
      if (previous !== undefined) expect(edit.at - previous).toBeGreaterThanOrEqual(290);
      lastEditOf.set(edit.payload.message_id, edit.at);
    }
    expect(
      h.api.callsOf("sendMessage").filter((c) => c.payload.parse_mode === "HTML").length,
    ).toBeGreaterThan(0);
  });

  it("retries 429 (after retry_after) and 5xx, and resends as plain text when Telegram cannot parse entities", async () => {
    const bot = await h.start();
    let injected429 = false;
    let injected502 = false;
    h.api.inject((call) => {
      if (call.method === "sendMessage" && call.payload.text === "echo: after a flood wait" && !injected429) {
        injected429 = true;
        return INJECTED.tooManyRequests(1);
      }
      if (
        call.method === "sendMessage" &&
        call.payload.text === "echo: after a bad gateway" &&
        !injected502
      ) {
        injected502 = true;
        return INJECTED.badGateway();
      }
      if (
        call.method === "sendMessage" &&
        call.payload.message_thread_id === 3 &&
        call.payload.parse_mode === "HTML"
      ) {
        return {
          status: 400,
          body: { ok: false, error_code: 400, description: "Bad Request: can't parse entities: x" },
        };
      }
      return undefined;
    });
    await bot.postUpdate(topicTextUpdate("after a flood wait", { threadId: 1 }));
    await bot.postUpdate(topicTextUpdate("after a bad gateway", { threadId: 2 }));
    await bot.postUpdate(topicTextUpdate("markdown", { threadId: 3 }));
    await h.waitForText(1, /^echo: after a flood wait$/);
    await h.waitForText(2, /^echo: after a bad gateway$/);
    await h.waitForText(3, /^Bold and a<b/);
    const floodRetry = h.api
      .callsOf("sendMessage")
      .filter((c) => c.payload.text === "echo: after a flood wait");
    expect(floodRetry.map((c) => c.status)).toEqual([429, 200]);
    expect((floodRetry[1]?.at ?? 0) - (floodRetry[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(h.textsIn(3)).toEqual(["Bold and a<b\n\nconst a = 1 < 2;"]);
  });

  it("formats Markdown as Telegram HTML in the final message", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("markdown", { threadId: 4 }));
    const text = await h.waitForText(4, /<b>Bold<\/b>/);
    expect(text).toBe(
      '<b>Bold</b> and <code>a&lt;b</code>\n\n<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>',
    );
  });

  it("streams a private chat with sendMessageDraft, then sends the final message", async () => {
    const bot = await h.start({ env: { STREAM_EDIT_INTERVAL_MS: "300" } });
    await bot.postUpdate(privateTextUpdate("stream 3000 200"));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-end"), 20_000);
    await bot.app.idle();
    const drafts = h.api.callsOf("sendMessageDraft");
    expect(drafts.length).toBeGreaterThan(1);
    expect(drafts.every((d) => d.payload.chat_id === FIXTURE_USER_ID)).toBe(true);
    // Only the progress message (tool calls) is edited; the answer streams as drafts.
    const answerEdits = h.api
      .callsOf("editMessageText")
      .filter(
        (c) => c.payload.chat_id === FIXTURE_USER_ID && !String(c.payload.text).startsWith(PROGRESS_HEADER),
      );
    expect(answerEdits).toEqual([]);
    const finals = h.textsIn(undefined, FIXTURE_USER_ID);
    expect(visibleWords(finals.join("\n\n"))).toEqual(visibleWords(streamText(3000)));
  });

  it("falls back to send and edit in a private chat when the Bot API server has no drafts", async () => {
    await h.api.close();
    const api = await startMockBotApi({ drafts: false });
    try {
      const { startTestApp } = await import("./support/app-fixture.js");
      const bot = await startTestApp({ apiRoot: api.url, dir: h.dir });
      await bot.postUpdate(privateTextUpdate("stream 2000 200"));
      await api.until(() => api.callsOf("sendMessageDraft").length > 0);
      await bot.app.idle();
      await bot.stop();
      expect(api.callsOf("sendMessageDraft")).toHaveLength(1);
      expect(api.callsOf("editMessageText").length).toBeGreaterThan(0);
      const finals = api
        .messagesIn(undefined, FIXTURE_USER_ID)
        .map((m) => m.text)
        .filter((t) => !t.startsWith(PROGRESS_HEADER));
      expect(visibleWords(finals.join("\n\n"))).toEqual(visibleWords(streamText(2000)));
    } finally {
      await api.close();
    }
  });

  it("joins the parts of a long pasted message into one prompt", async () => {
    const bot = await h.start();
    const first = "a".repeat(4000);
    await bot.postUpdate(topicTextUpdate(first, { threadId: 5 }));
    await bot.postUpdate(topicTextUpdate("the tail", { threadId: 5 }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-end"));
    await bot.app.idle();
    const prompts = h.agentEvents().filter((e) => e.event === "prompt-start");
    expect(prompts.map((e) => e.text)).toEqual([`${first}\nthe tail`]);
  });

  it("shows tool calls as a progress message and hides thoughts unless SHOW_THOUGHTS=true", async () => {
    for (const show of ["false", "true"]) {
      const bot = await h.start({ env: { SHOW_THOUGHTS: show } });
      const thread = show === "true" ? 7 : 6;
      await bot.postUpdate(topicTextUpdate("hello", { threadId: thread }));
      await h.waitForText(thread, /^echo: hello$/);
      await bot.stop();
      const progress = h.api.messagesIn(thread).filter((m) => m.text.startsWith(PROGRESS_HEADER));
      expect(progress.map((m) => m.text)).toEqual([
        show === "true"
          ? `${PROGRESS_HEADER}\n✅ Read notes\n💭 thinking...`
          : `${PROGRESS_HEADER}\n✅ Read notes`,
      ]);
    }
  });
});
