import { setTimeout as sleep } from "node:timers/promises";
import PQueue from "p-queue";
import pRetry, { AbortError } from "p-retry";
import type { Logger } from "../logger.js";

/** What the Bot API said about a failed call (Telegraf's TelegramError carries these). */
type BotApiFailure = {
  code?: number;
  response?: { error_code?: number; description?: string; parameters?: { retry_after?: number } };
};

/** The Bot API error code of an error, when it is one (400, 403, 429, 5xx...). */
export function botApiErrorCode(err: unknown): number | undefined {
  const e = err as BotApiFailure | null;
  return e?.response?.error_code ?? (typeof e?.code === "number" ? e.code : undefined);
}

/** The Bot API's description of an error ("Bad Request: message is not modified"...), or "". */
export function botApiDescription(err: unknown): string {
  return (err as BotApiFailure | null)?.response?.description ?? (err instanceof Error ? err.message : "");
}

type Pacer = { spacing: PQueue; budget: PQueue };

/** Options of {@link createOutbox}. */
export type OutboxOptions = {
  /** Budget of messages and edits per minute in a group or supergroup (all its topics together). */
  groupPerMinute: number;
  /** Budget of messages and edits per minute in a private chat. */
  privatePerMinute: number;
  /** Least time between two calls to one chat, ms (Bot FAQ: about one message per second per chat). */
  minIntervalMs?: number;
  /** Retries of a call that failed with 429, 5xx or a network error (bounded backoff, ≤ 10 s). */
  retries?: number;
  logger: Logger;
};

/**
 * One outbound queue per chat for Bot API calls that post or edit messages: calls run one at a
 * time, in order, at most one a second and within the chat's budget per minute (a sliding window;
 * private chats and groups differ; Bot FAQ "My bot is hitting limits"). A 429 waits `retry_after` and retries the same call; 5xx and network errors
 * retry with bounded exponential backoff; other errors (400, 403) are thrown to the caller at once.
 */
export type Outbox = ReturnType<typeof createOutbox>;

/** Creates the outbox; see {@link Outbox}. */
export function createOutbox(options: OutboxOptions) {
  const { logger } = options;
  const pacers = new Map<number, Pacer>();
  const pacerFor = (chatId: number): Pacer => {
    let pacer = pacers.get(chatId);
    if (!pacer) {
      // Private chats have positive ids; groups, supergroups and channels negative ones.
      const perMinute = chatId > 0 ? options.privatePerMinute : options.groupPerMinute;
      // Sliding windows with a 5% margin: calls arrive with jitter, and Telegram counts arrivals.
      const window = Math.ceil(60_000 * 1.05);
      const spacing = Math.ceil((options.minIntervalMs ?? 1_000) * 1.05);
      const created: Pacer = {
        spacing:
          spacing > 0
            ? new PQueue({ concurrency: 1, intervalCap: 1, interval: spacing, strict: true })
            : new PQueue({ concurrency: 1 }),
        budget: new PQueue({ concurrency: 1, intervalCap: perMinute, interval: window, strict: true }),
      };
      // Forget an idle chat only once its window has passed, or the pacing would start over.
      created.spacing.on("idle", () => {
        setTimeout(() => {
          const idle = created.spacing.size === 0 && created.spacing.pending === 0;
          if (idle && pacers.get(chatId) === created) pacers.delete(chatId);
        }, window).unref();
      });
      pacer = created;
      pacers.set(chatId, pacer);
    }
    return pacer;
  };

  const retrying = <T>(chatId: number, call: () => Promise<T>, label: string) =>
    pRetry(
      async () => {
        try {
          return await call();
        } catch (err) {
          const code = botApiErrorCode(err);
          // Client errors other than 429 will not get better by trying again.
          if (code !== undefined && code !== 429 && code < 500) throw new AbortError(err as Error);
          throw err;
        }
      },
      {
        retries: options.retries ?? 8,
        minTimeout: 300,
        maxTimeout: 10_000,
        factor: 2,
        onFailedAttempt: async ({ error, attemptNumber }) => {
          const code = botApiErrorCode(error);
          const retryAfter = (error as BotApiFailure).response?.parameters?.retry_after;
          logger.warn({ chatId, label, code, attemptNumber, retryAfter }, "Bot API call failed; retrying");
          if (code === 429 && typeof retryAfter === "number") await sleep(retryAfter * 1000);
        },
      },
    ).catch((err: unknown) => {
      throw err instanceof AbortError ? err.originalError : err;
    });

  return {
    /**
     * Runs `call` in the chat's queue, within its budget, retrying as described above.
     *
     * @throws the Bot API error once retries are exhausted, or at once for a client error.
     */
    send<T>(chatId: number, call: () => Promise<T>, label: string): Promise<T> {
      const pacer = pacerFor(chatId);
      // One call at a time per chat, in order: the spacing queue waits for the budget queue.
      return pacer.spacing.add(() => pacer.budget.add(() => retrying(chatId, call, label)));
    },
  };
}
