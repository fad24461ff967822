import type * as acp from "@agentclientprotocol/sdk";
import { TurnCancelledError } from "./errors.js";

/**
 * What the bot does differently for an agent, known by the name its `initialize` answers
 * (agentInfo.name; measured with the real agents, see test/agents/README.md):
 * - `sessionMinute`: Gemini CLI (`gemini-cli`, 0.61) names a session's chat file by the UTC minute it
 *   was created, and a session/load in that same minute overwrites the history (the load then fails
 *   with "No previous sessions found"). The bot keeps such a process alive past that minute, so a
 *   follow-up needs no load, and waits for the next minute before loading one it created, or one the
 *   session store saved in this minute (a bot restarted within the minute, even after a crash).
 */
export type AgentQuirks = { sessionMinute: boolean };

/** The quirks of the agent that answered `init`. */
export function quirksOf(init: acp.InitializeResponse): AgentQuirks {
  return { sessionMinute: init.agentInfo?.name === "gemini-cli" };
}

/** ms from `now` until the next UTC minute starts, plus `marginMs`. */
export function untilNextMinute(now: number, marginMs = 500): number {
  return 60_000 - (now % 60_000) + marginMs;
}

/** Whether `then` and `now` (ms since the epoch) fall in the same UTC minute. */
export function sameMinute(then: number, now: number): boolean {
  return Math.floor(then / 60_000) === Math.floor(now / 60_000);
}

/**
 * Keeps the `sessionMinute` quirk's bookkeeping for one ACP client: which sessions it created on
 * such an agent and when (Date.now() ms), kept in memory; for a session an earlier process created,
 * the time the store saved it stands in (a restart takes about a second, well within the minute).
 */
export function createSessionMinuteGuard(now: () => number = Date.now) {
  const createdAt = new Map<string, number>();
  const waitAfter = (madeAt: number | undefined) =>
    madeAt !== undefined && sameMinute(madeAt, now()) ? untilNextMinute(now()) : 0;
  return {
    /** Records that `sessionId` was just created by the agent that answered `init`. */
    created(init: acp.InitializeResponse, sessionId: string): void {
      if (quirksOf(init).sessionMinute) createdAt.set(sessionId, now());
    },
    /** ms to keep the agent holding `sessionId` alive so it outlives the creation minute (0: none). */
    keepForMs(sessionId: string | undefined): number {
      return waitAfter(sessionId === undefined ? undefined : createdAt.get(sessionId));
    },
    /**
     * Waits, telling the user through `notify`, until the agent can load `sessionId`; resolves at
     * once when no wait is needed. `savedAt` (ms since the epoch) is when the session store saved
     * the session id, for one this client did not create. Throws TurnCancelledError when `cancel`
     * fires while waiting.
     */
    async beforeLoad(
      init: acp.InitializeResponse,
      sessionId: string,
      notify: (line: string) => void,
      cancel: AbortSignal,
      savedAt?: number,
    ): Promise<void> {
      if (!quirksOf(init).sessionMinute) return;
      const waitMs = waitAfter(createdAt.get(sessionId) ?? savedAt);
      if (waitMs === 0) return;
      notify(
        `⏳ This agent cannot load a session in the minute it was created; waiting ${Math.ceil(waitMs / 1000)} s.`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        cancel.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled");
    },
  };
}
