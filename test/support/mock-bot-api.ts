import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One Bot API call the mock received. */
export type BotApiCall = { method: string; token: string; payload: Record<string, unknown>; at: number };

const BOT_USER = { id: 7000000001, is_bot: true, first_name: "Mock", username: "mock_test_bot" };

/**
 * A local mock of the Telegram Bot API on 127.0.0.1 (point Telegraf's `telegram.apiRoot` at `url`).
 * Records every call and answers getMe, sendMessage, editMessageText, editMessageReplyMarkup, sendChatAction, setWebhook,
 * getWebhookInfo, deleteWebhook, setMyCommands, answerCallbackQuery; other methods get a 404
 * "method not found", as the real API does.
 */
export async function startMockBotApi() {
  const calls: BotApiCall[] = [];
  let nextMessageId = 1000;
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
      case "editMessageReplyMarkup":
        return ok({ message_id: payload.message_id, chat: { id: payload.chat_id }, text: payload.text });
      case "sendChatAction":
      case "setWebhook":
      case "deleteWebhook":
      case "setMyCommands":
      case "answerCallbackQuery":
        return ok(true);
      case "getWebhookInfo":
        return ok({ url: "", has_custom_certificate: false, pending_update_count: 0 });
      default:
        return reply(404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
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
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The mock's handle, as returned by {@link startMockBotApi}. */
export type MockBotApi = Awaited<ReturnType<typeof startMockBotApi>>;
