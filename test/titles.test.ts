import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { FIXTURE_CHAT_ID, fixtureUpdate, privateTextUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const renames = () => h.api.callsOf("editForumTopic");

describe("session titles", () => {
  it("renames the forum topic to the agent's session title, once per new title", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("title Fix the   login bug", { threadId: T }));
    await h.waitForText(T, /^titled$/);
    await h.api.until(() => renames().length === 1);
    expect(renames()[0]?.payload).toEqual({
      chat_id: FIXTURE_CHAT_ID,
      message_thread_id: T,
      name: "Fix the login bug",
    });
    expect(h.api.topicNames.get(`${FIXTURE_CHAT_ID}:${T}`)).toBe("Fix the login bug");
    await bot.postUpdate(topicTextUpdate("title Fix the login bug", { threadId: T }));
    await h.api.until(() => h.textsIn(T).filter((t) => t === "titled").length === 2);
    await bot.postUpdate(topicTextUpdate("title Login fixed", { threadId: T }));
    await h.api.until(() => renames().length === 2);
    expect(renames()[1]?.payload.name).toBe("Login fixed");
  });

  it("renames nothing in the General topic or a private chat without topics", async () => {
    const bot = await h.start();
    const general = fixtureUpdate("supergroup_general_topic_message");
    general.message.text = "title In general";
    await bot.postUpdate(general);
    await bot.postUpdate(privateTextUpdate("title In private"));
    await h.api.until(
      () => h.api.callsOf("sendMessage").filter((c) => c.payload.text === "titled").length === 2,
    );
    await bot.app.idle();
    expect(renames()).toEqual([]);
  });

  it("refuses a title of 200 characters or with markup in one line, renaming nothing", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate(`title ${"x".repeat(200)}`, { threadId: T }));
    await h.waitForText(
      T,
      /^⚠️ The agent's title for this session was not given to the topic: it has 200 characters \(a topic name has at most 128\)\.$/,
    );
    await bot.postUpdate(topicTextUpdate("title <b>Bold</b> move", { threadId: T }));
    await h.waitForText(
      T,
      /^⚠️ The agent's title for this session was not given to the topic: it contains markup\.$/,
    );
    await h.api.until(() => h.textsIn(T).filter((t) => t === "titled").length === 2);
    expect(renames()).toEqual([]);
  });

  it("logs a failed rename once and does not retry it per update", async () => {
    const bot = await h.start();
    h.api.fail("editForumTopic", 400, "Bad Request: not enough rights to manage topics");
    await bot.postUpdate(topicTextUpdate("title First", { threadId: T }));
    await h.api.until(() => renames().length === 1);
    await bot.postUpdate(topicTextUpdate("title Second", { threadId: T }));
    await h.api.until(() => h.textsIn(T).filter((t) => t === "titled").length === 2);
    await bot.app.idle();
    expect(renames()).toHaveLength(1);
    expect(bot.logLines.filter((l) => l.includes("editForumTopic failed"))).toHaveLength(1);
  });
});
