import type { Logger } from "../logger.js";
import { TurnCancelledError } from "./errors.js";
import type { StartedAgent } from "./session-setup.js";

/** Options of {@link createAgentPool}; durations in ms. */
export type AgentPoolOptions = {
  /** Spare processes to keep spawned and past `initialize` (AGENT_WARM_SPARES; 0 = none). */
  spares: number;
  /** A spare older than this is replaced (AGENT_SPARE_MAX_AGE_MS). */
  spareMaxAgeMs: number;
  /** The working directory spares are spawned in (no topic's workspace). */
  neutralCwd: string;
  /** A topic's process stays alive this long after its turn (AGENT_KEEP_ALIVE_MS; 0 = never). */
  keepAliveMs: number;
  /** Processes serving turns plus kept-alive ones never exceed this (MAX_CONCURRENT_TURNS). */
  maxProcesses: number;
  /** Least time between two spawns of a spare after one failed or died. */
  retryDelayMs?: number;
  /** Spawns an agent with `cwd`, connects and initializes it; `cancel` abandons (and ends) it. */
  start: (cwd: string, cancel?: AbortSignal) => Promise<StartedAgent>;
  /** Ends an agent (session/close when it has one, then the process). Never throws. */
  end: (started: StartedAgent) => Promise<void>;
  logger: Logger;
};

/** A process kept alive for its topic's next turn, with the session it holds. */
export type KeptAgent = { started: StartedAgent; sessionId: string; cwd: string; model: string };

type Spare = {
  ready: Promise<StartedAgent | undefined>;
  started?: StartedAgent;
  bornAt: number;
  /** taken: a turn has it; retired: ended (too old, closed) before a turn took it. */
  fate?: "taken" | "retired";
  /** It failed initialize or died. */
  failed?: boolean;
};
type Parked = KeptAgent & { timer: NodeJS.Timeout; parkedAt: number };

const DEFAULT_RETRY_DELAY_MS = 5_000;
const CANCELLED = Symbol("cancelled");

/** Resolves with {@link CANCELLED} once `signal` aborts (at once when it already has). */
function whenAborted(signal: AbortSignal): Promise<typeof CANCELLED> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(CANCELLED);
    else signal.addEventListener("abort", () => resolve(CANCELLED), { once: true });
  });
}

/**
 * Where a turn's agent process comes from, so that agents that are slow to start do not make every
 * message wait: spares (spawned in a neutral directory and past ACP `initialize`, bound to no
 * session; a turn takes one and a replacement starts at once), and, with keep-alive, the process
 * that served a topic's last turn (its session still open). Each spare serves one turn and then
 * ends, like any process. A spare that fails `initialize` or dies is logged and replaced no sooner
 * than `retryDelayMs` after the last attempt (never a spawn loop); a turn never waits for a broken
 * one: without a ready spare it spawns its own process in its workspace.
 */
export function createAgentPool(options: AgentPoolOptions) {
  const { logger } = options;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const spares: Spare[] = [];
  const parked = new Map<string, Parked>();
  let inUse = 0;
  let closed = false;
  let failedAt = Number.NEGATIVE_INFINITY;
  let refillTimer: NodeJS.Timeout | undefined;

  const end = (started: StartedAgent) => void options.end(started);

  function launchSpare(): void {
    const spare: Spare = { ready: Promise.resolve(undefined), bornAt: Date.now() };
    spare.ready = options.start(options.neutralCwd).then(
      async (started) => {
        if (spare.fate === "retired") {
          await options.end(started);
          return undefined;
        }
        spare.started = started;
        logger.debug({ agentPid: started.proc.pid }, "spare agent process ready (past initialize)");
        const ageTimer = setTimeout(
          () => retire(spare, "older than AGENT_SPARE_MAX_AGE_MS"),
          options.spareMaxAgeMs,
        );
        ageTimer.unref();
        void started.proc.exited.then((exit) => {
          clearTimeout(ageTimer);
          spare.failed = true;
          if (spare.fate !== undefined) return;
          logger.warn(
            { exit: { code: exit.code, signal: exit.signal } },
            "a spare agent process died; replacing it",
          );
          failedAt = Date.now();
          remove(spare);
          refill();
        });
        return started;
      },
      (err: unknown) => {
        spare.failed = true;
        if (spare.fate === "retired") return undefined;
        logger.warn({ err }, "a spare agent process failed to start; retrying later");
        failedAt = Date.now();
        remove(spare);
        refill();
        return undefined;
      },
    );
    spares.push(spare);
  }

  function remove(spare: Spare): void {
    const index = spares.indexOf(spare);
    if (index >= 0) spares.splice(index, 1);
  }

  function retire(spare: Spare, why: string): void {
    if (spare.fate !== undefined || !spare.started) return;
    logger.debug({ why }, "replacing a spare agent process");
    spare.fate = "retired";
    remove(spare);
    end(spare.started);
    refill();
  }

  /** Starts spares up to the count, at once, or after the retry delay when one just failed. */
  function refill(): void {
    if (closed || refillTimer) return;
    const wait = failedAt + retryDelayMs - Date.now();
    if (wait > 0 && spares.length < options.spares) {
      refillTimer = setTimeout(() => {
        refillTimer = undefined;
        refill();
      }, wait);
      refillTimer.unref();
      return;
    }
    while (spares.length < options.spares) {
      launchSpare();
      if (failedAt + retryDelayMs > Date.now()) break; // one attempt per delay after a failure
    }
  }

  /** Ends the longest-parked process while the process budget is full. */
  function makeRoom(): void {
    while (parked.size > 0 && inUse + parked.size >= options.maxProcesses) {
      const [oldest] = [...parked.entries()].sort((a, b) => a[1].parkedAt - b[1].parkedAt);
      if (!oldest) return;
      logger.info({ topic: oldest[0] }, "ending a kept-alive agent process: its slot is needed");
      release(oldest[0]);
    }
  }

  function release(key: string): void {
    const entry = parked.get(key);
    if (!entry) return;
    parked.delete(key);
    clearTimeout(entry.timer);
    end(entry.started);
  }

  return {
    /** Starts keeping the spares (after start-up, so they do not compete with it). */
    warmUp(): void {
      refill();
    },

    /**
     * An initialized agent for a turn in `cwd`: a ready spare (or one about to be ready), else a new
     * process spawned in `cwd`. Call {@link done} when the turn no longer uses it.
     *
     * @throws TurnCancelledError when `cancel` aborts first (a process started for the turn is ended
     *   before this rejects; a spare still starting stays a spare).
     * @throws AgentTurnError when a new process cannot be started or initialized.
     */
    async take(cwd: string, cancel: AbortSignal): Promise<StartedAgent> {
      makeRoom();
      inUse += 1;
      try {
        while (spares.length > 0) {
          const spare = spares.shift() as Spare;
          if (!spare.started && !spare.failed) {
            // Still starting: wait for it, unless the turn is cancelled meanwhile (it stays a spare).
            const ready = await Promise.race([spare.ready, whenAborted(cancel)]);
            if (ready === CANCELLED) {
              if (!spare.failed && !closed) spares.unshift(spare);
              throw new TurnCancelledError("the turn was cancelled");
            }
          }
          spare.fate = "taken";
          refill();
          const started = spare.started;
          if (started?.session.isOpen() && !spare.failed && Date.now() - spare.bornAt < options.spareMaxAgeMs)
            return started;
          if (started) end(started);
        }
        return await options.start(cwd, cancel);
      } catch (err) {
        inUse -= 1;
        throw err;
      }
    },

    /**
     * The turn is done with `started`: keeps it for `key`'s next turn when keep-alive is on and
     * `kept` says which session it holds, otherwise ends it. Resolves once it is ended (or kept).
     */
    done(
      started: StartedAgent,
      kept?: { key: string; keepForMs?: number } & Omit<KeptAgent, "started">,
    ): Promise<void> {
      inUse -= 1;
      const keepForMs = Math.max(options.keepAliveMs, kept?.keepForMs ?? 0);
      if (!kept || keepForMs <= 0 || closed || !started.session.isOpen()) return options.end(started);
      release(kept.key);
      const timer = setTimeout(() => release(kept.key), keepForMs);
      timer.unref();
      const { key, keepForMs: _keepFor, ...session } = kept;
      parked.set(key, { ...session, started, timer, parkedAt: Date.now() });
      void started.proc.exited.then(() => {
        if (parked.get(key)?.started === started) {
          parked.delete(key);
          clearTimeout(timer);
        }
      });
      makeRoom();
      return Promise.resolve();
    },

    /**
     * The process kept for `key` when it still holds `sessionId` in `cwd` (it is taken out of the
     * pool: call {@link done} after the turn); otherwise ends what was kept and returns undefined.
     */
    claim(key: string, sessionId: string | undefined, cwd: string): KeptAgent | undefined {
      const entry = parked.get(key);
      if (!entry) return undefined;
      if (entry.sessionId !== sessionId || entry.cwd !== cwd || !entry.started.session.isOpen()) {
        release(key);
        return undefined;
      }
      parked.delete(key);
      clearTimeout(entry.timer);
      inUse += 1;
      return entry;
    },

    /** Ends the process kept for `key`, if any (/new, a setting that needs a new session). */
    release,

    /** Ends every spare and kept process and starts no more (shutdown). */
    async close(): Promise<void> {
      closed = true;
      clearTimeout(refillTimer);
      const ending: Array<Promise<void>> = [];
      for (const spare of spares.splice(0)) {
        spare.fate = "retired";
        // One still starting ends itself once it is up.
        ending.push(spare.started ? options.end(spare.started) : spare.ready.then(() => {}));
      }
      for (const [key, entry] of [...parked]) {
        parked.delete(key);
        clearTimeout(entry.timer);
        ending.push(options.end(entry.started));
      }
      await Promise.all(ending);
    },

    /** Spares ready or starting, and processes kept alive (for logs and tests). */
    counts: () => ({ spares: spares.length, kept: parked.size, inUse }),
  };
}

/** A pool; see {@link createAgentPool}. */
export type AgentPool = ReturnType<typeof createAgentPool>;
