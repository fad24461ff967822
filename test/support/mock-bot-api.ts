import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One Bot API call the mock received. */
export type BotApiCall = { method: string; token: string; payload: Record<string, unknown>; at: number };

/** The webhook state the mock keeps (Bot API WebhookInfo, plus fields tests may set). */
export type MockWebhookInfo = {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  max_connections?: number;
  allowed_updates?: string[];
  last_error_date?: number;
  last_error_message?: string;
};

const BOT_USER = { id: 7000000001, is_bot: true, first_name: "Mock", username: "mock_test_bot" };

/**
 * A local mock of the Telegram Bot API on 127.0.0.1 (point Telegraf's `telegram.apiRoot` at `url`).
 * Records every call and answers getMe, sendMessage, editMessageText, sendChatAction, setWebhook,
 * getWebhookInfo, deleteWebhook, setMyCommands, answerCallbackQuery and getUpdates; other methods get
 * a 404 "method not found", as the real API does.
 *
 * Webhook state: setWebhook stores url, max_connections and allowed_updates, deleteWebhook clears the
 * url, getWebhookInfo returns them (tests can add last_error_* with `setWebhookInfo`).
 * getUpdates (long polling) answers 409 while a webhook is set, as Telegram does; otherwise it returns
 * the updates queued with `queueUpdates` whose update_id is at least `offset` (smaller ones count as
 * confirmed and are dropped), waiting up to `timeout` seconds for one to arrive.
 * `fail(method, code, description)` makes every later call of `method` fail that way.
 */
export async function startMockBotApi() {
  const calls: BotApiCall[] = [];
  let nextMessageId = 1000;
  let webhook: MockWebhookInfo = { url: "", has_custom_certificate: false, pending_update_count: 0 };
  let pending: Array<{ update_id: number }> = [];
  const waiters = new Set<() => void>();
  const failures = new Map<string, { error_code: number; description: string }>();
  /** Resolves when an update is queued, the client goes away, or `ms` pass. */
  const waitForUpdates = (res: http.ServerResponse, ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        res.off("close", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
      res.once("close", done);
    });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? "");
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (!match) return reply(404, { ok: false, error_code: 404, description: "Not Found" });
    const [, token = "", method = ""] = match;
    const raw = Buffer.concat(chunks).toString("utf8");
    const payload = raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>);
    calls.push({ method, token, payload, at: Date.now() });
    const ok = (result: unknown) => reply(200, { ok: true, result });
    const failure = failures.get(method);
    if (failure) return reply(failure.error_code, { ok: false, ...failure });
    switch (method) {
      case "getMe":
        return ok(BOT_USER);
      case "sendMessage": {
        nextMessageId += 1;
        const chat = { id: payload.chat_id, type: Number(payload.chat_id) < 0 ? "supergroup" : "private" };
        return ok({
          message_id: nextMessageId,
          from: BOT_USER,
          chat,
          date: Math.floor(Date.now() / 1000),
          text: payload.text,
          ...(payload.message_thread_id === undefined
            ? {}
            : { message_thread_id: payload.message_thread_id, is_topic_message: true }),
        });
      }
      case "editMessageText":
        return ok({ message_id: payload.message_id, chat: { id: payload.chat_id }, text: payload.text });
      case "sendChatAction":
      case "setMyCommands":
      case "answerCallbackQuery":
        return ok(true);
      case "setWebhook":
        webhook = {
          ...webhook,
          url: String(payload.url),
          max_connections: (payload.max_connections as number | undefined) ?? 40,
          allowed_updates: payload.allowed_updates as string[] | undefined,
        };
        return ok(true);
      case "deleteWebhook":
        webhook = { url: "", has_custom_certificate: false, pending_update_count: 0 };
        if (payload.drop_pending_updates === true) pending = [];
        return ok(true);
      case "getWebhookInfo":
        return ok({ ...webhook, pending_update_count: webhook.pending_update_count + pending.length });
      case "getUpdates": {
        if (webhook.url !== "") {
          return reply(409, {
            ok: false,
            error_code: 409,
            description:
              "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
          });
        }
        const offset = Number(payload.offset ?? 0);
        pending = pending.filter((u) => u.update_id >= offset);
        if (pending.length === 0) await waitForUpdates(res, Number(payload.timeout ?? 0) * 1000);
        if (res.destroyed) return;
        return ok(pending.filter((u) => u.update_id >= offset).slice(0, Number(payload.limit ?? 100)));
      }
      default:
        return reply(404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    /** The webhook state getWebhookInfo reports (without the pending count of queued updates). */
    get webhook(): MockWebhookInfo {
      return webhook;
    },
    /** Merges fields into the webhook state, e.g. last_error_date and last_error_message. */
    setWebhookInfo(info: Partial<MockWebhookInfo>): void {
      webhook = { ...webhook, ...info };
    },
    /** Queues Updates for getUpdates (long polling) and wakes a waiting poll. */
    queueUpdates(...updates: Array<{ update_id: number }>): void {
      pending.push(...updates);
      for (const wake of [...waiters]) wake();
    },
    /** Makes every later call of `method` fail with this Bot API error. */
    fail(method: string, errorCode: number, description: string): void {
      failures.set(method, { error_code: errorCode, description });
    },
    /** Calls of one method, optionally only those whose payload matches `where`. */
    callsOf(method: string, where: Record<string, unknown> = {}): BotApiCall[] {
      return calls.filter(
        (c) => c.method === method && Object.entries(where).every(([k, v]) => c.payload[k] === v),
      );
    },
    /** Waits until `predicate` holds for some recorded call; returns that call. */
    async waitFor(predicate: (call: BotApiCall) => boolean, timeoutMs = 15_000): Promise<BotApiCall> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = calls.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching Bot API call within ${timeoutMs} ms; got: ${JSON.stringify(calls.map((c) => [c.method, c.payload]))}`,
          );
        }
        await sleep(20);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const wake of [...waiters]) wake();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The mock's handle, as returned by {@link startMockBotApi}. */
export type MockBotApi = Awaited<ReturnType<typeof startMockBotApi>>;
