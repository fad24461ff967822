import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { splitRichMarkdown } from "../src/telegram/rich-markdown.js";
import { answered, type Call, chunk, fakeTelegram, feed, renderer } from "./support/fake-telegram.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

const TABLE = "| a | b |\n|---|---|\n| 1 | 2 |";
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");
const methods = (calls: Call[]) => calls.map((c) => c.method);
const refuse = (method: string) => (call: Call) =>
  call.method === method
    ? { error_code: 400, description: "Bad Request: rich messages are not supported" }
    : undefined;

async function finish(view: ReturnType<typeof renderer>) {
  const finished = view.finish(answered);
  await vi.runAllTimersAsync();
  await finished;
}

describe("splitting Markdown for rich messages", () => {
  it("keeps an answer within the limit whole and cuts a longer one at block boundaries", () => {
    expect(splitRichMarkdown(`# Title\n\n${TABLE}\n`)).toEqual([`# Title\n\n${TABLE}`]);
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${"x".repeat(80)}`);
    const parts = splitRichMarkdown(paragraphs.join("\n\n"), 1000);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(1000);
    expect(parts.join("\n\n")).toBe(paragraphs.join("\n\n"));
  });

  it("closes and reopens a fenced code block that is longer than the limit", () => {
    const code = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
    const parts = splitRichMarkdown(`Intro.\n\n\`\`\`ts\n${code}\n\`\`\`\n`, 300);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(300);
    const fenced = parts.filter((p) => p.includes("```ts\n"));
    expect(fenced.length).toBeGreaterThan(2);
    for (const part of fenced) expect(part.endsWith("```")).toBe(true);
    const lines = fenced.flatMap((p) =>
      p
        .replace(/^```ts\n/, "")
        .replace(/\n```$/, "")
        .split("\n"),
    );
    expect(lines.join("\n")).toBe(code);
  });
});

describe("RICH_MESSAGES=final", () => {
  it("sends a short answer as one rich message with the agent's Markdown, nothing in HTML", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { richMessages: "final", firstSendMs: 800 });
    view.update(chunk(`Here:\n\n${TABLE}`));
    await finish(view);
    expect(methods(calls)).toEqual(["sendRichMessage"]);
    expect(calls[0]?.extra).toMatchObject({
      chat_id: -100,
      message_thread_id: 7,
      rich_message: { markdown: `Here:\n\n${TABLE}` },
    });
  });

  it("streams in HTML, then edits the first message into the rich answer and deletes the others", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { richMessages: "final" });
    const paragraphs = Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: ${"lorem ipsum ".repeat(10)}`);
    await feed(view, paragraphs.join("\n\n"), 200, 100);
    await finish(view);
    const htmlIds = [...new Set(calls.filter((c) => c.method === "sendMessage").map((c) => c.messageId))];
    expect(htmlIds.length).toBeGreaterThan(1);
    const richEdit = calls.find((c) => c.method === "editMessageText" && c.extra?.rich_message !== undefined);
    expect(richEdit?.messageId).toBe(htmlIds[0]);
    expect(richEdit?.text).toBe(paragraphs.join("\n\n").trim());
    expect(calls.filter((c) => c.method === "deleteMessage").map((c) => c.messageId)).toEqual(
      htmlIds.slice(1),
    );
    expect(calls.filter((c) => c.method === "sendRichMessage")).toEqual([]);
  });

  it("keeps the HTML messages when Telegram refuses the rich edit", async () => {
    const { telegram, calls } = fakeTelegram((call) =>
      call.method === "editMessageText" && call.extra?.rich_message !== undefined
        ? { error_code: 400, description: "Bad Request: rich messages are not supported" }
        : undefined,
    );
    const view = renderer(telegram, { richMessages: "final" });
    await feed(view, words(1500), 200, 100);
    await finish(view);
    expect(calls.filter((c) => c.extra?.rich_message !== undefined)).toHaveLength(1);
    expect(calls.filter((c) => c.method === "deleteMessage")).toEqual([]);
    const latest = new Map<number, string>();
    for (const c of calls)
      if (c.messageId !== undefined && c.text && !c.extra?.rich_message) latest.set(c.messageId, c.text);
    expect([...latest.values()].join(" ")).toBe(words(1500));
  });

  it("falls back to HTML for the one message Telegram refuses", async () => {
    const { telegram, calls } = fakeTelegram(refuse("sendRichMessage"));
    const view = renderer(telegram, { richMessages: "final", firstSendMs: 800 });
    view.update(chunk("**Bold** answer"));
    await finish(view);
    expect(methods(calls)).toEqual(["sendRichMessage", "sendMessage"]);
    expect(calls[1]?.text).toBe("<b>Bold</b> answer");
  });
});

describe("RICH_MESSAGES=stream", () => {
  it("in a forum topic sends a rich message, then rich edits no more often than the interval", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { richMessages: "stream" });
    await feed(view, words(400), 20, 50);
    await finish(view);
    expect(methods(calls).filter((m) => m !== "editMessageText")).toEqual(["sendRichMessage"]);
    const edits = calls.filter((c) => c.method === "editMessageText");
    expect(edits.length).toBeGreaterThanOrEqual(3);
    for (const edit of edits) expect(edit.extra?.rich_message).toBeDefined();
    for (let i = 1; i < edits.length; i++)
      expect((edits[i]?.at ?? 0) - (edits[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1500);
    expect(edits.at(-1)?.text).toBe(words(400));
  });

  it("in a private chat streams rich drafts, then sends the rich message", async () => {
    const { telegram, calls } = fakeTelegram();
    const view = renderer(telegram, { richMessages: "stream", privateChat: true });
    await feed(view, words(300), 20, 50);
    await finish(view);
    const drafts = calls.filter((c) => c.method === "sendRichMessageDraft");
    expect(drafts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(drafts.map((d) => d.extra?.draft_id)).size).toBe(1);
    expect(calls.filter((c) => c.method === "sendRichMessage").map((c) => c.text)).toEqual([words(300)]);
    expect(methods(calls).filter((m) => m === "sendMessage" || m === "sendMessageDraft")).toEqual([]);
  });

  it("streams rich messages with edits when rich drafts are refused", async () => {
    const { telegram, calls } = fakeTelegram(refuse("sendRichMessageDraft"));
    const richDrafts = { available: true };
    const view = renderer(telegram, { richMessages: "stream", privateChat: true, richDrafts });
    await feed(view, words(300), 20, 50);
    await finish(view);
    expect(richDrafts.available).toBe(false);
    expect(calls.filter((c) => c.method === "sendRichMessage")).toHaveLength(1);
    expect(calls.filter((c) => c.method === "editMessageText").at(-1)?.text).toBe(words(300));
  });

  it("turns a rich message whose edit is refused into HTML, text complete", async () => {
    let edits = 0;
    const { telegram, calls } = fakeTelegram((call) =>
      call.method === "editMessageText" && call.extra?.rich_message !== undefined && ++edits === 2
        ? { error_code: 400, description: "Bad Request: can't parse rich message" }
        : undefined,
    );
    const view = renderer(telegram, { richMessages: "stream" });
    await feed(view, words(400), 20, 50);
    await finish(view);
    const rich = calls.find((c) => c.method === "sendRichMessage");
    const htmlEdits = calls.filter(
      (c) => c.method === "editMessageText" && c.extra?.rich_message === undefined,
    );
    expect(htmlEdits.length).toBeGreaterThan(0);
    expect(htmlEdits.every((c) => c.messageId === rich?.messageId)).toBe(true);
    expect(htmlEdits.at(-1)?.text).toBe(words(400));
    expect(calls.filter((c) => c.method === "sendMessage")).toEqual([]);
  });
});
