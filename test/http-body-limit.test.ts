import net, { type AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHttpApp, type IncomingUpdate, MAX_WEBHOOK_BODY_BYTES } from "../src/http/server.js";

const SECRET = "the-secret_1";
let server: ServerType;
let url: string;
let dispatched: IncomingUpdate[];

// Over a real socket (app.request sends no Content-Length), as Telegram calls the webhook.
beforeEach(async () => {
  dispatched = [];
  const app = createHttpApp({
    webhookPath: "/hook",
    webhookSecret: SECRET,
    dispatch: async (update) => void dispatched.push(update),
    logger: pino({ level: "silent" }),
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = (body: RequestInit["body"], extra: RequestInit = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET },
    body,
    ...extra,
  });

/** A body sent with Transfer-Encoding: chunked (a stream has no length to declare). */
const chunked = (text: string) =>
  post(
    new ReadableStream({
      start(controller) {
        const bytes = new TextEncoder().encode(text);
        for (let i = 0; i < bytes.length; i += 64 * 1024)
          controller.enqueue(bytes.subarray(i, i + 64 * 1024));
        controller.close();
      },
    }),
    { duplex: "half" } as RequestInit,
  );

const oversized = JSON.stringify({ update_id: 1, pad: "x".repeat(MAX_WEBHOOK_BODY_BYTES) });

describe("webhook body limit over HTTP", () => {
  it("answers 413 from the declared Content-Length, and 200 to an Update within it", async () => {
    const res = await post(oversized);
    expect(res.status).toBe(413);
    expect(await res.text()).toBe("payload too large");
    expect((await post('{"update_id":5}')).status).toBe(200);
    expect(dispatched).toEqual([{ update_id: 5 }]);
  });

  it("counts a chunked body as it streams: 413 over the limit, 200 within it", async () => {
    expect((await chunked(oversized)).status).toBe(413);
    expect((await chunked('{"update_id":6}')).status).toBe(200);
    expect(dispatched).toEqual([{ update_id: 6 }]);
  });

  it("checks the secret before the size", async () => {
    const res = await post(oversized, {
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "wrong" },
    });
    expect(res.status).toBe(401);
    expect(dispatched).toEqual([]);
  });

  it("never sees Content-Length beside Transfer-Encoding: Node answers 400 first (the route relies on it)", async () => {
    const { port } = server.address() as AddressInfo;
    const socket = net.connect(port, "127.0.0.1");
    socket.write(
      `POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nx-telegram-bot-api-secret-token: ${SECRET}\r\n` +
        'Content-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{"update_id":9}\r\n0\r\n\r\n',
    );
    const [reply] = (await new Promise((resolve) =>
      socket.once("data", (data) => resolve([String(data)])),
    )) as [string];
    socket.destroy();
    expect(reply.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request");
    expect(dispatched).toEqual([]);
  });
});
