import { describe, expect, it } from "vitest";
import type { TestApp } from "./support/app-fixture.js";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import { asCommand, callbackUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
type Button = { text: string; callback_data: string };
const buttonsOf = (call: BotApiCall): Button[] =>
  ((call.payload.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat();
const prompts = () =>
  h.api.callsOf("sendMessage").filter((c) => String(c.payload.text).startsWith("🔐 The agent asks"));

async function tapOn(bot: TestApp, prompt: BotApiCall, text: string): Promise<void> {
  const button = buttonsOf(prompt).find((b) => b.text === text);
  if (!button) throw new Error(`no button ${text}`);
  await bot.postUpdate(
    callbackUpdate(button.callback_data, { threadId: T, messageId: prompt.messageId as number }),
  );
}

describe("diffs where decisions are made", () => {
  it("shows a compact unified diff in the permission prompt and offers 'Allow for this session', kept for the session", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("edit", { threadId: T }));
    await h.api.until(() => prompts().length === 1);
    const prompt = prompts()[0] as BotApiCall;
    expect(prompt.payload.parse_mode).toBe("HTML");
    const text = String(prompt.payload.text);
    const path = `${bot.config.workspaceBasePath}/`;
    expect(text).toContain('<pre><code class="language-diff">');
    expect(text).toMatch(
      /--- \/.*\/notes\.txt\n\+\+\+ \/.*\/notes\.txt\n@@ -1,3 \+1,4 @@\n line 1\n-line 2\n\+line two\n line 3\n\+line added/,
    );
    expect(text).toContain(path);
    expect(buttonsOf(prompt).map((b) => b.text)).toEqual(["Allow once", "Reject", "Allow for this session"]);
    await tapOn(bot, prompt, "Allow for this session");
    await h.waitForText(T, /^edit outcome: allow$/);
    // The progress message names the change.
    await h.api.until(() =>
      h.api.messagesIn(T).some((m) => m.text.includes("Edit notes.txt (+2 −1 notes.txt)")),
    );

    await bot.postUpdate(topicTextUpdate("edit", { threadId: T }));
    await h.waitForText(
      T,
      /^✅ Allowed "Edit notes\.txt" \(edit\): you allowed edit tools for this session\.$/,
    );
    await h.api.until(() => h.textsIn(T).filter((t) => t === "edit outcome: allow").length === 2);
    expect(prompts()).toHaveLength(1);

    // A new session asks again.
    await bot.postUpdate(asCommand(topicTextUpdate("/new", { threadId: T })));
    await h.waitForText(T, /starts a new agent session/);
    await bot.postUpdate(topicTextUpdate("edit", { threadId: T }));
    await h.api.until(() => prompts().length === 2);
    await tapOn(bot, prompts()[1] as BotApiCall, "Reject");
    await h.waitForText(T, /^edit outcome: reject$/);
  });

  it("sends the whole diff as a .diff document when it does not fit the prompt", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("edit big", { threadId: T }));
    await h.api.until(() => prompts().length === 1);
    const prompt = prompts()[0] as BotApiCall;
    const document = h.api.callsOf("sendDocument")[0];
    expect(document?.payload.document).toMatchObject({ filename: "changes.diff" });
    expect(document?.payload.message_thread_id).toBe(T);
    expect(document?.at).toBeLessThanOrEqual(prompt.at);
    const text = String(prompt.payload.text);
    expect(text.length).toBeLessThan(4096);
    expect(text).toMatch(/… \d+ more lines in the attached \.diff<\/code><\/pre>$/);
    await tapOn(bot, prompt, "Allow once");
    await h.waitForText(T, /^edit outcome: allow$/);
    // The prompt keeps its diff and says what was chosen.
    await h.api.until(() =>
      h.api
        .callsOf("editMessageText", { message_id: prompt.messageId })
        .some(
          (c) =>
            String(c.payload.text).includes("language-diff") &&
            String(c.payload.text).includes("→ Allow once"),
        ),
    );
  });
});
