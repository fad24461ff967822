import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { answered, chunk, fakeTelegram, feed, renderer } from "./support/fake-telegram.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("stream renderer in a forum topic", () => {
  it("sends the first text at once, then edits no more often than the interval, coalescing chunks", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram);
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(" "); // ~2000 characters
    await feed(view, words, 20, 50); // 5 s of streaming
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;

    const sends = calls.filter((c) => c.method === "sendMessage");
    const edits = calls.filter((c) => c.method === "editMessageText");
    expect(sends).toHaveLength(1);
    expect(sends[0]?.at).toBe(0);
    expect(sends[0]?.extra?.message_thread_id).toBe(7);
    expect(edits.length).toBeGreaterThanOrEqual(3);
    expect(edits.length).toBeLessThanOrEqual(5); // ~5 s / 1.5 s, not one per chunk
    for (let i = 1; i < edits.length; i++) {
      expect((edits[i]?.at ?? 0) - (edits[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1500);
    }
    expect(edits.at(-1)?.text).toBe(words);
  });

  it("continues in a new message past the page limit, and the last edits carry the complete text", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram);
    const paragraphs = Array.from(
      { length: 60 },
      (_, i) => `Paragraph ${i}: ${"lorem ipsum ".repeat(10).trim()}`,
    ).join("\n\n");
    await feed(view, paragraphs, 200, 100);
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;

    const latest = new Map<number, string>();
    for (const call of calls)
      if (call.messageId !== undefined && call.text !== undefined) latest.set(call.messageId, call.text);
    const texts = [...latest.values()];
    expect(texts.length).toBeGreaterThan(1);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(3900);
    expect(texts.join("\n\n")).toBe(paragraphs);
  });

  it("treats 'message is not modified' as done and resends as plain text when Telegram cannot parse the HTML", async () => {
    let refusedHtml = 0;
    const { telegram, calls } = fakeTelegram((call) => {
      if (call.method === "sendMessage" && call.extra?.parse_mode === "HTML") {
        refusedHtml += 1;
        return { error_code: 400, description: "Bad Request: can't parse entities: unexpected end tag" };
      }
      if (call.method === "editMessageText")
        return { error_code: 400, description: "Bad Request: message is not modified" };
      return undefined;
    });
    const view = renderer(telegram);
    view.update(chunk("**bold** and `code`"));
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;
    expect(refusedHtml).toBe(1);
    const plain = calls.filter((c) => c.method === "sendMessage" && c.extra?.parse_mode === undefined);
    expect(plain.map((c) => c.text)).toEqual(["bold and code"]);
    expect(calls.filter((c) => c.method === "editMessageText")).toHaveLength(0);
  });

  it("shows tool calls and the plan in one progress message, thoughts only when asked", async () => {
    for (const showThoughts of [false, true]) {
      const { telegram, calls } = fakeTelegram();
      const view = renderer(telegram, { showThoughts });
      view.update({ sessionUpdate: "agent_thought_chunk", content: { type: "text", text: "pondering" } });
      view.update({
        sessionUpdate: "tool_call",
        toolCallId: "a",
        title: "Read file",
        kind: "read",
        status: "pending",
      });
      view.update({ sessionUpdate: "tool_call_update", toolCallId: "a", status: "in_progress" });
      view.update({ sessionUpdate: "tool_call", toolCallId: "b", title: "Run tests", kind: "execute" });
      view.update({
        sessionUpdate: "plan",
        entries: [
          { content: "Read", priority: "high", status: "completed" },
          { content: "Fix", priority: "high", status: "in_progress" },
        ],
      });
      await vi.advanceTimersByTimeAsync(100);
      view.update({ sessionUpdate: "tool_call_update", toolCallId: "a", status: "completed" });
      view.update({ sessionUpdate: "tool_call_update", toolCallId: "b", status: "failed" });
      view.update(chunk("done"));
      const finished = view.finish(answered);
      await vi.runAllTimersAsync();
      await finished;
      const progress = calls.filter((c) => c.text?.startsWith("⚙️ Progress"));
      const ids = new Set(progress.map((c) => c.messageId));
      expect(ids.size).toBe(1);
      expect(progress.at(-1)?.text).toBe(
        [
          "⚙️ Progress",
          "✅ Read file",
          "❌ Run tests",
          "📋 Plan",
          "☑ Read",
          "◐ Fix",
          ...(showThoughts ? ["💭 pondering"] : []),
        ].join("\n"),
      );
    }
  });
});

describe("stream renderer in a private chat", () => {
  it("streams with sendMessageDraft at the interval, then sends the final message", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { privateChat: true });
    const words = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ");
    await feed(view, words, 20, 50);
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;
    const drafts = calls.filter((c) => c.method === "sendMessageDraft");
    expect(drafts.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < drafts.length; i++) {
      expect((drafts[i]?.at ?? 0) - (drafts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1500);
    }
    expect(new Set(drafts.map((d) => d.extra?.draft_id)).size).toBe(1);
    expect(calls.filter((c) => c.method === "editMessageText")).toEqual([]);
    expect(calls.filter((c) => c.method === "sendMessage").map((c) => c.text)).toEqual([words]);
  });

  it("falls back to send and edit when the Bot API server has no sendMessageDraft", async () => {
    const { telegram, calls } = fakeTelegram((call) =>
      call.method === "sendMessageDraft"
        ? { error_code: 404, description: "Not Found: method not found" }
        : undefined,
    );
    const drafts = { available: true };
    const view = renderer(telegram, { privateChat: true, drafts });
    await feed(view, "a ".repeat(500), 20, 100);
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;
    expect(drafts.available).toBe(false);
    expect(calls.filter((c) => c.method === "sendMessageDraft")).toHaveLength(1);
    expect(calls.filter((c) => c.method === "editMessageText").length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.method === "sendMessage")).toHaveLength(1);
  });
});

describe("the first message of an answer", () => {
  it("holds a short answer until the turn ends, then sends it complete in one call (no edit)", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { firstSendMs: 800 });
    view.update(chunk("The answer "));
    await vi.advanceTimersByTimeAsync(300);
    view.update(chunk("is 42."));
    await vi.advanceTimersByTimeAsync(300);
    expect(calls.filter((c) => c.method === "sendMessage")).toEqual([]);
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;
    const sends = calls.filter((c) => c.method === "sendMessage");
    expect(sends.map((c) => [c.at, c.text])).toEqual([[600, "The answer is 42."]]);
    expect(calls.filter((c) => c.method === "editMessageText")).toEqual([]);
  });

  it("skips the draft in a private chat when the answer is complete within the window", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { privateChat: true, firstSendMs: 800 });
    view.update(chunk("Short."));
    await vi.advanceTimersByTimeAsync(100);
    const finished = view.finish(answered);
    await vi.runAllTimersAsync();
    await finished;
    expect(calls.map((c) => c.method)).toEqual(["sendMessage"]);
  });

  it("shows a slow answer after the window, and a long one at once", async () => {
    const slow = fakeTelegram();
    const view = renderer(slow.telegram, { firstSendMs: 800 });
    view.update(chunk("Thinking about it"));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(slow.calls.filter((c) => c.method === "sendMessage").map((c) => c.at)).toEqual([800]);
    void view.finish(answered);
    await vi.runAllTimersAsync();

    const fast = fakeTelegram();
    const long = renderer(fast.telegram, { firstSendMs: 800 });
    const startedAt = Date.now();
    long.update(chunk("x".repeat(400)));
    await vi.advanceTimersByTimeAsync(10);
    expect(fast.calls.filter((c) => c.method === "sendMessage").map((c) => c.at)).toEqual([startedAt]);
    void long.finish(answered);
    await vi.runAllTimersAsync();
  });
});
