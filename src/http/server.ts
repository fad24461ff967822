import { createHash, timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../logger.js";

/** A Bot API Update as far as the HTTP side reads it: an object with an integer `update_id`. */
export type IncomingUpdate = { update_id: number; [field: string]: unknown };

/** What dispatching an Update came to: taken in (undefined), or to be sent again later (503). */
export type DispatchResult = undefined | { retryLater: string };

/** The bot's health for `/healthz` and the webhook: ok, or why not (one line). */
export type HttpHealth = { ok: true } | { ok: false; reason: string };

/** Largest webhook body accepted, bytes; Telegram's Updates are far smaller. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/**
 * The HTTP side: `POST <webhookPath>` receives Telegram webhook calls (Bot API setWebhook), checks
 * X-Telegram-Bot-Api-Secret-Token in constant time (401 when missing or wrong), answers 400 to a
 * body that is not JSON, 413 over {@link MAX_WEBHOOK_BODY_BYTES}, 503 while not accepting (start-up,
 * shutdown) or while `health` is not ok (the store cannot write: Telegram sends the Update again
 * later). Otherwise it hands the Update to `dispatch` and answers 200 once the Update is taken in
 * (journalled, never the turn itself), or 503 when dispatch says to retry later. `GET /healthz` answers 200 `{ ok: true }`, or 503 `{ ok: false, reason }`.
 */
export function createHttpApp(deps: {
  webhookPath: string;
  webhookSecret: string;
  /** False while the bot starts or shuts down: webhook calls then get 503 and Telegram retries them later. */
  isAccepting?: () => boolean;
  /** Whether the bot can take Updates in (its store can write). */
  health?: () => HttpHealth;
  /**
   * Resolves with a {@link DispatchResult} (or nothing, for an Update simply taken in). Absent in a
   * process that takes no Updates (ROLE=worker): the webhook route is not served (404).
   */
  dispatch?: (update: IncomingUpdate) => Promise<unknown>;
  /** Another endpoint on the same server, e.g. the bot's MCP server: every method at `path`. */
  mount?: { path: string; handle: (request: Request) => Promise<Response> };
  logger: Logger;
}): Hono {
  const { logger, dispatch } = deps;
  const expected = digest(deps.webhookSecret);
  const app = new Hono();
  const tooLarge = (c: Context) => c.text("payload too large", 413);
  const streamedLimit = bodyLimit({ maxSize: MAX_WEBHOOK_BODY_BYTES, onError: tooLarge });

  /** Parses the body and hands an Update to `dispatch`, waiting until it is taken in. */
  const accept = async (c: Context, dispatch: (update: IncomingUpdate) => Promise<unknown>) => {
    let update: unknown;
    try {
      update = JSON.parse(await c.req.text());
    } catch {
      return c.text("body is not JSON", 400);
    }
    if (!isUpdate(update)) {
      // 200: anything else makes Telegram deliver it again and again.
      logger.warn("webhook body is JSON but not an Update; ignored");
      return c.body(null, 200);
    }
    // No timer per request (it costs the hot path): Telegraf's handlerTimeout bounds the wait.
    const result = await dispatch(update).catch((err: unknown) => {
      logger.error({ err, update_id: update.update_id }, "update dispatch failed");
      return undefined;
    });
    const retryLater = (result as DispatchResult)?.retryLater;
    if (retryLater) return c.text(`try again later: ${retryLater}`, 503);
    return c.body(null, 200);
  };

  app.get("/healthz", (c) => {
    const health = deps.health?.() ?? { ok: true };
    return health.ok ? c.json({ ok: true }) : c.json({ ok: false, reason: health.reason }, 503);
  });

  app.onError((err, c) => {
    logger.error({ err }, "http handler failed");
    return c.text("internal error", 500);
  });
  const mount = deps.mount;
  if (mount) app.all(mount.path, (c) => mount.handle(c.req.raw));
  if (!dispatch) return app;

  // One handler rather than a middleware chain: this route is the hot path under load.
  app.post(deps.webhookPath, async (c) => {
    const given = c.req.header("x-telegram-bot-api-secret-token");
    // Comparing digests keeps the comparison constant-time whatever the given length.
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      logger.warn(
        { ip: c.req.header("x-forwarded-for") },
        "webhook call with a missing or wrong secret token",
      );
      return c.text("unauthorized", 401);
    }
    if (deps.isAccepting && !deps.isAccepting()) return c.text("shutting down", 503);
    const health = deps.health?.();
    if (health && !health.ok) return c.text(`try again later: ${health.reason}`, 503);
    // A declared Content-Length (Telegram always sends one; Node rejects it beside Transfer-Encoding)
    // is checked from the header alone. Hono's bodyLimit would turn @hono/node-server's light request
    // into a full fetch Request and stream the body through it, which costs more than the rest of the
    // route; chunked bodies still go through it.
    const length = c.req.header("content-length");
    if (length !== undefined)
      return Number(length) > MAX_WEBHOOK_BODY_BYTES ? tooLarge(c) : accept(c, dispatch);
    let accepted: Response | undefined;
    const refused = await streamedLimit(c, async () => {
      accepted = await accept(c, dispatch);
    });
    return refused ?? (accepted as Response);
  });
  return app;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function isUpdate(value: unknown): value is IncomingUpdate {
  return (
    typeof value === "object" &&
    value !== null &&
    Number.isSafeInteger((value as { update_id?: unknown }).update_id)
  );
}
