import { setTimeout as sleep } from "node:timers/promises";
import pRetry, { AbortError } from "p-retry";
import type { Logger } from "../logger.js";
import { type ChatLane, createChatLane, type LanePriority } from "./outbox-lane.js";

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

/**
 * How urgent a call is: `command` (replies to /cancel, /status...) before `message` (new messages,
 * final texts, notices, permission prompts, files) before `edit` (intermediate edits of a streamed
 * message, which are coalesced and take turns between topics).
 */
export type OutboxPriority = LanePriority;

/** How a call is queued. */
export type SendOptions = {
  /** For the log. */
  label: string;
  /** Default `message`. */
  priority?: OutboxPriority;
  /**
   * The message (or draft) the call edits, e.g. `m:<message id>`: a waiting `edit` of the same key is
   * replaced by the newer one (both callers get its result), and a `message`-priority call of the same
   * key (the final text) takes the waiting edit's place.
   */
  key?: string;
  /** The forum topic (message_thread_id, 0 for none): topics take turns for intermediate edits. */
  topic?: number;
};

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
 * One outbound queue per chat for Bot API calls that post or edit messages (Bot FAQ "My bot is
 * hitting limits"): calls run one at a time, at most one a second and within the chat's budget per
 * minute (a sliding window; private chats and groups differ), most urgent first (see
 * {@link OutboxPriority}). Intermediate edits may use the budget only up to a reserve kept for
 * everything else, so a /cancel confirmation never waits behind a stream; a waiting edit is replaced
 * by a newer one of the same message and never sent stale. A 429 waits `retry_after` and retries the
 * same call; 5xx and network errors retry with bounded exponential backoff; other errors (400, 403)
 * are thrown to the caller at once.
 */
export type Outbox = ReturnType<typeof createOutbox>;

/** Creates the outbox; see {@link Outbox}. */
export function createOutbox(options: OutboxOptions) {
  const { logger } = options;
  const lanes = new Map<number, ChatLane>();
  // Sliding windows with a 5% margin: calls arrive with jitter, and Telegram counts arrivals.
  const window = Math.ceil(60_000 * 1.05);

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

  const laneFor = (chatId: number): ChatLane => {
    let lane = lanes.get(chatId);
    if (!lane) {
      // Private chats have positive ids; groups, supergroups and channels negative ones.
      const perMinute = chatId > 0 ? options.privatePerMinute : options.groupPerMinute;
      const created = createChatLane({
        perMinute,
        windowMs: window,
        spacingMs: Math.ceil((options.minIntervalMs ?? 1_000) * 1.05),
        run: (call, label) => retrying(chatId, call, label),
        onIdle: () => {
          // Forget an idle chat only once its window has passed, or the pacing would start over.
          setTimeout(() => {
            if (created.idle() && lanes.get(chatId) === created) lanes.delete(chatId);
          }, window).unref();
        },
      });
      lane = created;
      lanes.set(chatId, lane);
    }
    return lane;
  };

  return {
    /**
     * Runs `call` in the chat's queue, within its budget and by priority, retrying as described
     * above. `options` may be just the label (priority `message`).
     *
     * @throws the Bot API error once retries are exhausted, or at once for a client error.
     */
    send<T>(chatId: number, call: () => Promise<T>, options: string | SendOptions): Promise<T> {
      const opts = typeof options === "string" ? { label: options } : options;
      return laneFor(chatId).send(call, {
        label: opts.label,
        priority: opts.priority ?? "message",
        ...(opts.key !== undefined ? { key: opts.key } : {}),
        topic: opts.topic ?? 0,
      });
    },

    /**
     * Moves a waiting intermediate edit of `key` up to `message` priority (its stream ended: the edit
     * now carries the final text). No-op when none waits.
     */
    promote(chatId: number, key: string): void {
      lanes.get(chatId)?.promote(key);
    },
  };
}
