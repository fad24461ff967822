import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { asCommand, callbackUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 64;
const documents = () => h.api.callsOf("sendDocument").filter((c) => c.payload.message_thread_id === T);

describe("an answer without bounds", () => {
  it("stops the messages past MAX_ANSWER_CHARS and sends the whole answer as answer.md", async () => {
    const bot = await h.start({ env: { MAX_ANSWER_CHARS: "5000" } });
    await bot.postUpdate(topicTextUpdate("long 20000", { threadId: T }));
    await bot.app.idle();
    const shown = h.textsIn(T).join("");
    expect(shown.replace(/[^x]/g, "").length).toBe(5_000);
    expect(shown).toContain("the whole of it follows as answer.md");
    expect(documents()).toHaveLength(1);
    expect(documents()[0]?.payload.document).toEqual({ filename: "answer.md", size: 20_000 });
  });

  it("stops posting an answer on /cancel; the whole of it follows as answer.md", async () => {
    const bot = await h.start();
    h.api.slow("sendMessage", 400);
    await bot.postUpdate(topicTextUpdate("long 30000", { threadId: T }));
    await h.api.until(() => h.api.messagesIn(T).length === 1, 30_000);
    await bot.postUpdate(asCommand(topicTextUpdate("/cancel", { threadId: T })));
    await h.waitForText(T, /Stopped posting the answer/);
    await h.api.until(() => documents().length === 1);
    await bot.app.idle();
    const pages = h.textsIn(T).filter((t) => t.startsWith("x"));
    expect(pages.length).toBeLessThan(8); // 30,000 characters are 8 pages
    expect(documents()[0]?.payload.document).toEqual({ filename: "answer.md", size: 30_000 });
  });

  it("ends a shutdown within its grace though an answer is still being posted, and offers it after the restart", async () => {
    const bot = await h.start({ env: { SHUTDOWN_GRACE_MS: "200" } });
    // Posting all 8 pages would take 80 s: a stop that waited for them would fail the test's timeout.
    h.api.slow("sendMessage", 10_000);
    await bot.postUpdate(topicTextUpdate("long 30000", { threadId: T }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-end"), 30_000);
    await bot.stop();
    const journal = new Database(path.join(h.dir, "tg-acp.db"), { readonly: true });
    expect(journal.prepare("select state, delivery from turns").all()).toEqual([
      { state: "completed", delivery: "cut" },
    ]);
    journal.close();
    h.api.slow("sendMessage", 0);
    const again = await h.start();
    const offer = await h.api.waitFor(
      (c) => c.method === "sendMessage" && /finished posting the answer/.test(String(c.payload.text)),
    );
    const button = (
      offer.payload.reply_markup as { inline_keyboard: Array<Array<{ callback_data: string }>> }
    ).inline_keyboard[0]?.[0]?.callback_data as string;
    const tap = callbackUpdate(button, { threadId: T });
    await again.postUpdate(tap);
    await h.api.until(() => documents().length === 1);
    expect(documents()[0]?.payload.document).toEqual({ filename: "answer.md", size: 30_000 });
  });
});
