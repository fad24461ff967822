import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { OpenPgDatabase } from "../db/pg/database.js";
import type { Logger } from "../logger.js";
import { listenChannel } from "./pg-listener.js";

/** The NOTIFY channel of requests between processes (web -> workers) and their replies. */
export const CONTROL_CHANNEL = "tg_acp_control";

type Request = { id: string; from: string; kind: string; body: unknown };
type Reply = { replyTo: string; to: string; body: unknown };

/** Serves one request: resolves with the reply's body, or undefined to stay silent (not this process's). */
export type ControlServer = (kind: string, body: unknown) => Promise<unknown>;

/** Options of {@link openControlBus}. */
export type ControlBusOptions = {
  database: OpenPgDatabase;
  /** Unique per process (replies are addressed to it). */
  processId: string;
  /** Present in a process that answers requests (a worker). */
  serve?: ControlServer;
  logger: Logger;
};

/**
 * Requests and replies between the processes of one database over PostgreSQL LISTEN/NOTIFY
 * (channel {@link CONTROL_CHANNEL}, JSON payloads under NOTIFY's 8000 bytes): every process hears
 * every request; a serving process answers those that are its own (the worker holding a topic's
 * shard), and a reply reaches only the process that asked. Nothing is queued: a request nobody
 * answers within its timeout resolves with undefined. Resolves once it listens.
 *
 * @throws the node-postgres error when the first LISTEN fails.
 */
export async function openControlBus(options: ControlBusOptions) {
  const { database, processId, logger } = options;
  const waiting = new Map<string, (body: unknown) => void>();
  const publish = (message: Request | Reply) =>
    database.db.execute(sql`select pg_notify(${CONTROL_CHANNEL}, ${JSON.stringify(message)})`);

  const onPayload = (payload: string) => {
    let message: Partial<Request & Reply>;
    try {
      message = JSON.parse(payload) as Partial<Request & Reply>;
    } catch {
      return logger.warn("control message that is not JSON; ignored");
    }
    if (message.replyTo !== undefined) {
      if (message.to === processId) waiting.get(message.replyTo)?.(message.body);
      return;
    }
    const { id, from, kind } = message;
    if (!options.serve || id === undefined || from === undefined || kind === undefined) return;
    options
      .serve(kind, message.body)
      .then((body) => (body === undefined ? undefined : publish({ replyTo: id, to: from, body })))
      .catch((err: unknown) => logger.warn({ err, kind }, "control request failed"));
  };

  let connected!: () => void;
  let failed!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    connected = resolve;
    failed = reject;
  });
  const timer = setTimeout(() => failed(new Error("LISTEN did not succeed within 10 s")), 10_000);
  const listener = listenChannel(
    database.url,
    CONTROL_CHANNEL,
    {
      onPayload,
      onConnected: () => {
        clearTimeout(timer);
        connected();
      },
    },
    logger,
  );
  try {
    await ready;
  } catch (err) {
    await listener.close();
    throw err;
  }

  return {
    /**
     * Sends a request to every process; resolves with the first reply's body, or undefined when
     * none came within `timeoutMs`.
     *
     * @throws the node-postgres error when the request cannot be sent (PostgreSQL unreachable).
     */
    async request(kind: string, body: unknown, timeoutMs: number): Promise<unknown> {
      const id = randomUUID();
      const replied = new Promise<unknown>((resolve) => {
        const timeout = setTimeout(() => resolve(undefined), timeoutMs);
        waiting.set(id, (reply) => {
          clearTimeout(timeout);
          resolve(reply);
        });
      });
      try {
        await publish({ id, from: processId, kind, body });
        return await replied;
      } finally {
        waiting.delete(id);
      }
    },
    /** Stops listening. */
    close: () => listener.close(),
  };
}

/** An open control bus; see {@link openControlBus}. */
export type ControlBus = Awaited<ReturnType<typeof openControlBus>>;
