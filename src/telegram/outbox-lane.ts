import { setTimeout as sleep } from "node:timers/promises";
import PQueue from "p-queue";

/** The priority classes of a chat's calls; see OutboxPriority. */
export type LanePriority = "command" | "message" | "edit";

const RANK: Record<LanePriority, number> = { command: 2, message: 1, edit: 0 };
/** Share of a chat's budget per minute kept free of intermediate edits, for urgent calls. */
const URGENT_RESERVE = 0.15;

type Call = () => Promise<unknown>;
type Waiting = {
  call: Call;
  label: string;
  topic: number;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  promise: Promise<unknown>;
};

/** What a lane is built from; durations in ms. */
export type LaneDeps = {
  perMinute: number;
  windowMs: number;
  spacingMs: number;
  /** Runs one call with the outbox's retries. */
  run: (call: Call, label: string) => Promise<unknown>;
  onIdle: () => void;
};

/**
 * One chat's outbound lane. Calls pass two p-queues ordered by priority: `spacing` (one call at a
 * time, at most one per `spacingMs`) and `budget` (at most `perMinute` starts in any `windowMs`).
 * Intermediate edits wait outside the queues, one per message key (a newer edit replaces the
 * waiting one), and are admitted one at a time, topic by topic (the topic with the fewest edits
 * sent goes first), and only while the window has more free room than the urgent reserve.
 */
export function createChatLane(deps: LaneDeps) {
  const spacing =
    deps.spacingMs > 0
      ? new PQueue({ concurrency: 1, intervalCap: 1, interval: deps.spacingMs, strict: true })
      : new PQueue({ concurrency: 1 });
  const budget = new PQueue({
    concurrency: 1,
    intervalCap: deps.perMinute,
    interval: deps.windowMs,
    strict: true,
  });
  const editBudget = Math.max(1, deps.perMinute - Math.max(1, Math.ceil(deps.perMinute * URGENT_RESERVE)));
  const waitingEdits = new Map<string, Waiting>();
  const editsSent = new Map<number, number>();
  /** When admitted edits started, within the last window (ms timestamps). */
  let editLog: number[] = [];
  let editInFlight = false;
  let admitTimer: NodeJS.Timeout | undefined;
  let active = 0;
  /** When the last call began (ms timestamp): p-queue spaces its task starts, and a task can begin
   * its call later than it started (behind the budget queue, or on a loaded machine), so the gap
   * between two calls is checked again right before each call. */
  let lastCallAt = Number.NEGATIVE_INFINITY;
  const spaced = async (call: Call, label: string): Promise<unknown> => {
    // A loop: a timer may fire a millisecond before Date.now() says the time has passed.
    for (
      let wait = lastCallAt + deps.spacingMs - Date.now();
      wait > 0;
      wait = lastCallAt + deps.spacingMs - Date.now()
    )
      await sleep(wait);
    lastCallAt = Date.now();
    return deps.run(call, label);
  };

  const enqueue = (call: Call, label: string, priority: LanePriority): Promise<unknown> => {
    active += 1;
    const rank = RANK[priority];
    return spacing
      .add(() => budget.add(() => spaced(call, label), { priority: rank }), { priority: rank })
      .finally(() => {
        active -= 1;
        if (active === 0 && waitingEdits.size === 0) deps.onIdle();
      });
  };

  function admit(): void {
    clearTimeout(admitTimer);
    admitTimer = undefined;
    if (editInFlight || waitingEdits.size === 0) return;
    const now = Date.now();
    editLog = editLog.filter((at) => now - at < deps.windowMs);
    if (editLog.length >= editBudget) {
      admitTimer = setTimeout(admit, (editLog[0] ?? now) + deps.windowMs - now + 1);
      return;
    }
    let chosen: [string, Waiting] | undefined;
    for (const entry of waitingEdits) {
      const sent = editsSent.get(entry[1].topic) ?? 0;
      if (!chosen || sent < (editsSent.get(chosen[1].topic) ?? 0)) chosen = entry;
    }
    if (!chosen) return;
    const [key, edit] = chosen;
    waitingEdits.delete(key);
    editInFlight = true;
    editLog.push(now);
    editsSent.set(edit.topic, (editsSent.get(edit.topic) ?? 0) + 1);
    // The call reads the message's latest text when it runs, so a late edit is never stale.
    enqueue(() => edit.call(), edit.label, "edit")
      .then(edit.resolve, edit.reject)
      .finally(() => {
        editInFlight = false;
        admit();
      });
  }

  return {
    send<T>(
      call: () => Promise<T>,
      options: { label: string; priority: LanePriority; key?: string; topic: number },
    ) {
      const { key } = options;
      const waiting = key === undefined ? undefined : waitingEdits.get(key);
      if (options.priority === "edit" && key !== undefined) {
        if (waiting) {
          waiting.call = call;
          return waiting.promise as Promise<T>;
        }
        let resolve!: (value: unknown) => void;
        let reject!: (err: unknown) => void;
        const promise = new Promise<unknown>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        waitingEdits.set(key, { call, label: options.label, topic: options.topic, resolve, reject, promise });
        admit();
        return promise as Promise<T>;
      }
      const sent = enqueue(call, options.label, options.priority) as Promise<T>;
      if (waiting && key !== undefined) {
        // The final text takes the waiting edit's place; its caller gets the final's result.
        waitingEdits.delete(key);
        sent.then(waiting.resolve, waiting.reject);
      }
      return sent;
    },

    promote(key: string): void {
      const waiting = waitingEdits.get(key);
      if (!waiting) return;
      waitingEdits.delete(key);
      enqueue(waiting.call, waiting.label, "message").then(waiting.resolve, waiting.reject);
    },

    idle: () => active === 0 && waitingEdits.size === 0,
  };
}

/** A chat's lane; see {@link createChatLane}. */
export type ChatLane = ReturnType<typeof createChatLane>;
