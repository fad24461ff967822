import pino from "pino";
import { describe, expect, it } from "vitest";
import { createHttpApp, type IncomingUpdate } from "../src/http/server.js";

const SECRET = "the-secret_1";

function setup(dispatch: (update: IncomingUpdate) => Promise<void> = async () => {}) {
  const dispatched: IncomingUpdate[] = [];
  const app = createHttpApp({
    webhookPath: "/telegram/webhook",
    webhookSecret: SECRET,
    dispatch: (update) => {
      dispatched.push(update);
      return dispatch(update);
    },
    logger: pino({ level: "silent" }),
  });
  const post = (body: string, secret: string | null = SECRET) =>
    app.request("/telegram/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }),
      },
      body,
    });
  return { app, post, dispatched };
}

describe("webhook route", () => {
  it("answers 401 to a missing or wrong secret token and dispatches nothing", async () => {
    const { post, dispatched } = setup();
    expect((await post('{"update_id":1}', null)).status).toBe(401);
    expect((await post('{"update_id":1}', "wrong")).status).toBe(401);
    expect((await post('{"update_id":1}', `${SECRET}x`)).status).toBe(401);
    expect((await post('{"update_id":1}', "")).status).toBe(401);
    expect(dispatched).toEqual([]);
  });

  it("answers 400 to a body that is not JSON", async () => {
    const { post, dispatched } = setup();
    expect((await post("{not json")).status).toBe(400);
    expect(dispatched).toEqual([]);
  });

  it("answers 413 to a body over 1 MB", async () => {
    const { post, dispatched } = setup();
    const res = await post(JSON.stringify({ update_id: 1, pad: "x".repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(dispatched).toEqual([]);
  });

  it("acknowledges JSON that is not an Update with 200 and ignores it", async () => {
    const { post, dispatched } = setup();
    expect((await post('{"hello":"world"}')).status).toBe(200);
    expect((await post("[1,2]")).status).toBe(200);
    expect(dispatched).toEqual([]);
  });

  it("answers 200 once the Update is taken in, without waiting for its turn", async () => {
    // The contract since the full-disk fix: dispatch resolves when the Update is journalled; the
    // turn it starts runs on (here: never ends) and the webhook does not wait for it.
    let finish: () => void = () => {};
    const turn = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { post, dispatched } = setup(async () => {
      void turn;
    });
    const res = await post('{"update_id":7,"message":{"message_id":1}}');
    expect(res.status).toBe(200);
    expect(dispatched.map((u) => u.update_id)).toEqual([7]);
    finish();
  });

  it("answers 503 when dispatch could not take the Update in (Telegram sends it again later)", async () => {
    const { post } = setup(async () => ({ retryLater: "the disk is full" }) as unknown as undefined);
    const res = await post('{"update_id":9}');
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/the disk is full/);
  });

  it("answers 200 even when dispatch fails (the failure is logged, Telegram must not retry)", async () => {
    const { post } = setup(async () => {
      throw new Error("boom");
    });
    expect((await post('{"update_id":8}')).status).toBe(200);
  });

  it("serves GET /healthz", async () => {
    const { app } = setup();
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
