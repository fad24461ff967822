import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PROGRESS_HEADER } from "../src/telegram/progress-message.js";
import { startTestApp } from "./support/app-fixture.js";
import { type MockBotApi, startMockBotApi } from "./support/mock-bot-api.js";
import { makeTempDir } from "./support/temp-dir.js";
import { isAlive, readAgentEvents } from "./support/test-agent-command.js";
import { FIXTURE_CHAT_ID, topicTextUpdate } from "./support/updates.js";

const TOPIC = 2391;
const OTHER_TOPIC = 4242;

let api: MockBotApi;
let temp: ReturnType<typeof makeTempDir>;

beforeEach(async () => {
  api = await startMockBotApi();
  temp = makeTempDir();
});
afterEach(async () => {
  await api.close();
  temp.cleanup();
});

/** What the user sees in a topic: each message's latest text, without the progress message. */
const answersIn = (threadId: number) =>
  api
    .messagesIn(threadId, FIXTURE_CHAT_ID)
    .map((m) => m.text)
    .filter((text) => !text.startsWith(PROGRESS_HEADER));

describe("the seeds' two-run demo through the webhook", () => {
  it("remembers a number in a topic across a full restart, and only in that topic", async () => {
    // Run 1: memorize.
    const first = await startTestApp({ apiRoot: api.url, dir: temp.dir, agent: "subprocess" });
    expect(
      await first.postUpdate(
        topicTextUpdate("Remember this number: 1234. Just confirm you memorized it.", { threadId: TOPIC }),
      ),
    ).toBe(200);
    await api.until(() => answersIn(TOPIC).some((text) => text.includes("memorized 1234")));
    await first.stop();
    expect(answersIn(TOPIC)).toEqual(["Got it, I memorized 1234."]);
    expect(
      api.callsOf("sendChatAction", { chat_id: FIXTURE_CHAT_ID, message_thread_id: TOPIC }).length,
    ).toBeGreaterThan(0);

    // Run 2: a new app process state on the same database; the agent runs in a new process too.
    const second = await startTestApp({ apiRoot: api.url, dir: temp.dir, agent: "subprocess" });
    await second.postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: TOPIC }));
    await api.until(() => answersIn(TOPIC).some((text) => text.includes("You asked")));
    await second.postUpdate(
      topicTextUpdate("What number did I ask you to remember?", { threadId: OTHER_TOPIC }),
    );
    await api.until(() => answersIn(OTHER_TOPIC).length > 0);
    await second.stop();

    expect(answersIn(TOPIC)).toEqual(["Got it, I memorized 1234.", "You asked me to remember 1234."]);
    expect(answersIn(OTHER_TOPIC)).toHaveLength(1);
    expect(answersIn(OTHER_TOPIC)[0]).not.toContain("1234");
    // Nothing went anywhere but the two topics (no General-topic or thread-less sends).
    expect(
      api
        .callsOf("sendMessage")
        .every((c) => c.payload.message_thread_id === TOPIC || c.payload.message_thread_id === OTHER_TOPIC),
    ).toBe(true);

    // The second turn in TOPIC loaded the stored session in the topic's own workspace.
    const events = readAgentEvents(path.join(temp.dir, "agent"));
    const created = events.filter((e) => e.event === "session/new");
    const loads = events.filter((e) => e.event === "session/load");
    expect(created).toHaveLength(2);
    expect(loads).toEqual([
      expect.objectContaining({ sessionId: created[0]?.sessionId, cwd: created[0]?.cwd }),
    ]);
    expect(created[0]?.cwd).toBe(
      path.join(temp.dir, "workspaces", String(FIXTURE_CHAT_ID), String(TOPIC), "111222333"),
    );
    // Every agent process is gone, and none saw the bot's secrets.
    const starts = events.filter((e) => e.event === "start");
    expect(starts).toHaveLength(3);
    for (const start of starts) {
      expect(isAlive(start.pid)).toBe(false);
      expect(start.envHasBotToken).toBe(false);
      expect(start.envHasWebhookSecret).toBe(false);
    }
  });
});
