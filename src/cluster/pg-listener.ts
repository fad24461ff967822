import pg from "pg";
import type { Logger } from "../logger.js";

/**
 * LISTENs on `channel` (PostgreSQL LISTEN/NOTIFY) with a connection of its own and calls `onPayload`
 * with each notification's payload. After a lost connection it reconnects every `retryMs` (default
 * 1000) and calls `onConnected` each time it listens again (notifications sent meanwhile are gone).
 * Returns `close`.
 */
export function listenChannel(
  url: string,
  channel: string,
  handlers: { onPayload: (payload: string) => void; onConnected?: () => void },
  logger: Logger,
  retryMs = 1000,
): { close(): Promise<void> } {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({ connectionString: url, application_name: `tg-acp ${channel}` });
    next.on("notification", (message) => handlers.onPayload(message.payload ?? ""));
    next.on("error", (err) => {
      logger.warn({ err, channel }, "listener connection lost");
      next.end().catch(() => {});
      if (client === next) client = undefined;
      if (!closed) retry = setTimeout(connect, retryMs);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${channel}`);
      if (closed) return void (await next.end());
      client = next;
      handlers.onConnected?.();
    } catch (err) {
      logger.warn({ err, channel }, "listener cannot connect; retrying");
      next.end().catch(() => {});
      if (!closed) retry = setTimeout(connect, retryMs);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
