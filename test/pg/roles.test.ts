import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../support/app-fixture.js";
import { type BotApiCall, type MockBotApi, startMockBotApi } from "../support/mock-bot-api.js";
import { makeTempDir } from "../support/temp-dir.js";
import { readAgentEvents } from "../support/test-agent-command.js";
import { asCommand, callbackUpdate, topicTextUpdate } from "../support/updates.js";
import { usePostgres } from "../support/use-postgres.js";

// ROLE=web and ROLE=worker as two apps on one throw-away PostgreSQL and one mock Bot API: the web
// replica takes the Updates and runs the commands, the worker runs the turns (the in-process test
// agent) and posts the answers; /cancel, /status and permission taps reach the worker over the
// control bus.

const { server, describe } = usePostgres();
let api: MockBotApi;
let url: string;
let web: TestApp;
let worker: TestApp;
const temps: Array<ReturnType<typeof makeTempDir>> = [];
const extra: TestApp[] = [];
const T = 4242;

const roleEnv = (role: string, more: Record<string, string> = {}) => ({
  DATABASE_URL: url,
  ROLE: role,
  WORKER_ID: `${role}-1`,
  LOG_LEVEL: "warn",
  ...more,
});
const startRole = async (role: string, more: Record<string, string> = {}) => {
  const temp = makeTempDir();
  temps.push(temp);
  return startTestApp({ apiRoot: api.url, dir: temp.dir, env: roleEnv(role, more) });
};
const textsIn = (threadId: number) => api.messagesIn(threadId).map((m) => m.text);
const waitForText = async (threadId: number, pattern: RegExp) => {
  await api.until(() => textsIn(threadId).some((t) => pattern.test(t)), 20_000);
};
const query = async <T>(text: string): Promise<T[]> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
};

describe("ROLE=web and ROLE=worker", () => {
  beforeAll(async () => {
    url = await server().createDatabase("roles");
    api = await startMockBotApi();
    worker = await startRole("worker");
    web = await startRole("web");
  }, 60_000);
  afterEach(async () => {
    for (const app of extra.splice(0)) await app.stop();
  });
  afterAll(async () => {
    await web?.stop();
    await worker?.stop();
    await api?.close();
    for (const temp of temps) temp.cleanup();
  });

  it("the web replica journals the prompt once and the worker answers it; the web starts no agent", async () => {
    const update = topicTextUpdate("hello from the web", { threadId: T });
    expect(await web.postUpdate(update)).toBe(200);
    expect(await web.postUpdate(update)).toBe(200); // Telegram re-sent it
    await waitForText(T, /^echo: hello from the web$/);
    // The answer goes out before the turn's end is journalled: poll the row (as below).
    await expect
      .poll(
        () =>
          query<{ state: string; worker_id: string }>(
            `select state, worker_id from turns where update_id = ${update.update_id}`,
          ),
        { timeout: 20_000 },
      )
      .toEqual([{ state: "completed", worker_id: "worker-1" }]);
    expect(readAgentEvents(path.join(temps[1]?.dir ?? "", "agent"))).toEqual([]);
    expect(readAgentEvents(path.join(temps[0]?.dir ?? "", "agent")).length).toBeGreaterThan(0);
    // The worker serves no webhook.
    expect(await worker.postUpdate(topicTextUpdate("not here", { threadId: T }))).toBe(404);
  });

  it("/status and /cancel on the web replica act on the turn the worker runs", async () => {
    const topic = T + 1;
    await web.postUpdate(topicTextUpdate("sleep 30000", { threadId: topic }));
    await web.postUpdate(topicTextUpdate("queued behind it", { threadId: topic }));
    await api.until(
      () =>
        readAgentEvents(path.join(temps[0]?.dir ?? "", "agent")).some(
          (e) => e.event === "prompt-start" && e.text === "sleep 30000",
        ),
      20_000,
    );
    await web.postUpdate(asCommand(topicTextUpdate("/status", { threadId: topic })));
    await waitForText(topic, /State: working/);
    await web.postUpdate(asCommand(topicTextUpdate("/cancel", { threadId: topic })));
    await waitForText(topic, /^⏹ Cancelling the running turn\. Dropped 1 queued message\.$/);
    await api.until(() => textsIn(topic).some((t) => /Stopped: cancelled/.test(t)), 20_000);
    // As in ROLE=all: the agent ends the cancelled prompt (stop reason cancelled); the queued one is dropped.
    // The answer goes out before the worker journals the turn's end (runner/turn-execution.ts, onResult),
    // so the rows are polled until they show it (a loaded machine saw the first one still running).
    await expect
      .poll(
        () =>
          query<{ state: string; stop_reason: string | null }>(
            `select state, stop_reason from turns where thread_id = ${topic} order by id`,
          ),
        { timeout: 20_000 },
      )
      .toEqual([
        { state: "completed", stop_reason: "cancelled" },
        { state: "cancelled", stop_reason: null },
      ]);
  });

  it("a permission button tapped on the web replica answers the worker's prompt", async () => {
    const topic = T + 2;
    await web.postUpdate(topicTextUpdate("permission", { threadId: topic }));
    let prompt: BotApiCall | undefined;
    await api.until(() => {
      prompt = api
        .callsOf("sendMessage")
        .find((c) => c.payload.message_thread_id === topic && String(c.payload.text).startsWith("🔐"));
      return prompt !== undefined;
    }, 20_000);
    if (!prompt) throw new Error("no permission prompt");
    const markup = prompt.payload.reply_markup as {
      inline_keyboard: Array<Array<{ text: string; callback_data: string }>>;
    };
    const keyboard = markup.inline_keyboard.flat();
    const allow = keyboard.find((b) => b.text === "Allow once");
    const tap = callbackUpdate(allow?.callback_data ?? "", {
      threadId: topic,
      messageId: prompt.messageId ?? 0,
    });
    expect(await web.postUpdate(tap)).toBe(200);
    await waitForText(topic, /^permission outcome: allow$/);
    const queryId = (tap as { callback_query: { id: string } }).callback_query.id;
    expect(
      api.callsOf("answerCallbackQuery", { callback_query_id: queryId }).map((c) => c.payload.text),
    ).toEqual(["Allow once"]);
    // A tap on a prompt no worker holds is answered by the web replica itself.
    const stale = callbackUpdate("p:nonce-gone:0", { threadId: topic, messageId: 1 });
    await web.postUpdate(stale);
    const staleId = (stale as { callback_query: { id: string } }).callback_query.id;
    await api.until(
      () => api.callsOf("answerCallbackQuery", { callback_query_id: staleId }).length === 1,
      20_000,
    );
    expect(api.callsOf("answerCallbackQuery", { callback_query_id: staleId })[0]?.payload.text).toBe(
      "This request has expired.",
    );
  });

  it("with BOT_MODE=polling only one process polls: a second one stops at start with one line", async () => {
    extra.push(await startRole("web", { BOT_MODE: "polling", WORKER_ID: "poller-1" }));
    const second = startRole("web", { BOT_MODE: "polling", WORKER_ID: "poller-2" });
    await expect(second).rejects.toThrow(/^BOT_MODE=polling: another process already polls Telegram/);
  });

  // Last: it stops the file's server for a while.
  it("PostgreSQL lost while running: webhooks answer 503, then the web and the worker go on once it is back", async () => {
    const topic = T + 3;
    await server().pause();
    try {
      const during = await web.postUpdate(topicTextUpdate("during the outage", { threadId: topic }));
      if (during !== 503) console.log(web.logLines.slice(-10).join("\n"));
      expect(during).toBe(503);
      const health = await fetch(`${web.baseUrl}/healthz`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { reason: string }).reason).toMatch(/PostgreSQL/);
    } finally {
      await server().resume();
    }
    // Telegram sends the Update again until it is taken in.
    const again = topicTextUpdate("after the outage", { threadId: topic });
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await web.postUpdate(again);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    await waitForText(topic, /^echo: after the outage$/);
  });

  it("an unreachable DATABASE_URL stops start-up with one line naming its host, password redacted", async () => {
    const temp = makeTempDir();
    temps.push(temp);
    const started = startTestApp({
      apiRoot: api.url,
      dir: temp.dir,
      env: { DATABASE_URL: "postgres://tg:hunter2-secret@127.0.0.1:1/tg", ROLE: "web", LOG_LEVEL: "silent" },
    });
    const err = (await started.catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^DATABASE_URL postgres:\/\/tg:\*\*\*@127\.0\.0\.1:1\/tg: PostgreSQL at 127\.0\.0\.1:1 cannot be reached/,
    );
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("\n");
  });
});
