import { describe, expect, it } from "vitest";
import { describeWebhookInfo } from "../src/cli/webhook-info.js";
import { PROGRESS_HEADER } from "../src/telegram/progress-message.js";
import { ALLOWED_UPDATES } from "../src/telegram/update-source.js";
import { startTestApp, TEST_BOT_TOKEN, TEST_WEBHOOK_SECRET } from "./support/app-fixture.js";
import { useHarness } from "./support/harness.js";
import { runCliEntry } from "./support/run-cli.js";
import { FIXTURE_CHAT_ID, topicTextUpdate } from "./support/updates.js";

const h = useHarness();

describe("webhook registration", () => {
  it("calls setWebhook with the secret token, allowed_updates and max_connections 40 by default", async () => {
    h.app = await startTestApp({
      apiRoot: h.api.url,
      dir: h.dir,
      env: { PUBLIC_URL: "https://bot.example.com" },
    });
    expect(h.api.callsOf("setWebhook").map((c) => c.payload)).toEqual([
      {
        url: "https://bot.example.com/telegram/webhook",
        secret_token: TEST_WEBHOOK_SECRET,
        allowed_updates: [...ALLOWED_UPDATES],
        max_connections: 40,
      },
    ]);
    expect(h.api.webhook).toMatchObject({
      url: "https://bot.example.com/telegram/webhook",
      max_connections: 40,
    });
  });

  it("passes WEBHOOK_MAX_CONNECTIONS to setWebhook", async () => {
    h.app = await startTestApp({
      apiRoot: h.api.url,
      dir: h.dir,
      env: { PUBLIC_URL: "https://bot.example.com/", WEBHOOK_PATH: "/hook", WEBHOOK_MAX_CONNECTIONS: "7" },
    });
    expect(h.api.callsOf("setWebhook")[0]?.payload).toMatchObject({
      url: "https://bot.example.com/hook",
      max_connections: 7,
    });
  });
});

describe("webhook:info and webhook:delete", () => {
  const cliEnv = () => ({
    TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    TELEGRAM_API_ROOT: h.api.url,
  });

  it("prints url, pending updates and the last delivery error, then deletes the webhook", async () => {
    h.api.setWebhookInfo({
      url: "https://bot.example.com/telegram/webhook",
      max_connections: 40,
      pending_update_count: 3,
      last_error_date: Math.floor(Date.now() / 1000) - 300,
      last_error_message: "Wrong response from the webhook: 502 Bad Gateway",
    });
    const info = await runCliEntry("webhook", ["info"], { env: cliEnv(), cwd: h.dir });
    expect(info.stderr).toBe("");
    expect(info.code).toBe(0);
    const lines = info.stdout.trimEnd().split("\n");
    expect(lines).toContain("url: https://bot.example.com/telegram/webhook");
    expect(lines).toContain("pending_update_count: 3");
    expect(lines).toContain("max_connections: 40");
    expect(lines.find((l) => l.startsWith("last_error_date: "))).toMatch(/\(5 min ago\)$/);
    expect(lines).toContain("last_error_message: Wrong response from the webhook: 502 Bad Gateway");

    const deleted = await runCliEntry("webhook", ["delete"], { env: cliEnv(), cwd: h.dir });
    expect(deleted).toEqual({ code: 0, stdout: "webhook deleted\n", stderr: "" });
    expect(h.api.callsOf("deleteWebhook")).toHaveLength(1);
    expect(h.api.webhook.url).toBe("");
  });

  it("fails with one line, without the token, when Telegram rejects the call", async () => {
    h.api.fail("getWebhookInfo", 401, "Unauthorized");
    const result = await runCliEntry("webhook", ["info"], { env: cliEnv(), cwd: h.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tg-acp webhook: Telegram info failed: .*401.*Unauthorized\n$/);
    expect(result.stderr).not.toContain(TEST_BOT_TOKEN);
  });

  it("formats a webhook without errors", () => {
    expect(
      describeWebhookInfo({ url: "", has_custom_certificate: false, pending_update_count: 0 }, new Date()),
    ).toEqual(["url: (none: no webhook is set)", "pending_update_count: 0", "last_error_date: (none)"]);
  });
});

describe("BOT_MODE=polling", () => {
  it("deletes the webhook, long-polls the same handlers, answers in the topic and still serves /healthz", async () => {
    h.api.setWebhookInfo({ url: "https://old.example.com/telegram/webhook" });
    h.app = await startTestApp({ apiRoot: h.api.url, dir: h.dir, env: { BOT_MODE: "polling" } });
    expect(h.api.webhook.url).toBe("");
    const stranger = topicTextUpdate("let me in", { threadId: 12, userId: 999000111 });
    const prompt = topicTextUpdate("hello by polling", { threadId: 12 });
    h.api.queueUpdates(stranger, prompt);

    const answer = await h.api.waitFor((c) => c.method === "sendMessage");
    expect(answer.payload).toMatchObject({
      chat_id: FIXTURE_CHAT_ID,
      message_thread_id: 12,
      text: "echo: hello by polling",
    });
    expect((await fetch(`${h.app.baseUrl}/healthz`)).status).toBe(200);

    const polls = h.api.callsOf("getUpdates");
    expect(polls[0]?.payload).toMatchObject({ allowed_updates: [...ALLOWED_UPDATES], timeout: 50 });
    const firstPoll = h.api.calls.indexOf(polls[0] as (typeof polls)[number]);
    const lastDelete = h.api.calls.map((c) => c.method).lastIndexOf("deleteWebhook");
    expect(lastDelete).toBeGreaterThanOrEqual(0);
    expect(lastDelete).toBeLessThan(firstPoll);

    await h.app.stop();
    h.app = undefined;
    // Both updates were confirmed (offset past the last one) and nothing else was sent.
    expect(Math.max(...h.api.callsOf("getUpdates").map((c) => Number(c.payload.offset ?? 0)))).toBe(
      prompt.update_id + 1,
    );
    // (The progress message of the test agent's tool call aside.)
    expect(
      h.api.callsOf("sendMessage").filter((c) => !String(c.payload.text).startsWith(PROGRESS_HEADER)),
    ).toHaveLength(1);
  });

  it("reports in one line when long polling stops with an error", async () => {
    h.api.fail("getUpdates", 409, "Conflict: terminated by other getUpdates request");
    h.app = await startTestApp({ apiRoot: h.api.url, dir: h.dir, env: { BOT_MODE: "polling" } });
    for (let i = 0; i < 100 && h.app.fatalErrors.length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(h.app.fatalErrors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^Telegram long polling stopped: .*409.*terminated by other getUpdates request$/),
    ]);
    expect(h.app.fatalErrors[0]?.message).not.toContain(TEST_BOT_TOKEN);
  });
});
