import { setTimeout as sleep } from "node:timers/promises";
import { UserFacingError } from "../domain/errors.js";
import type { AgentExit, AgentProcess } from "./agent-process.js";

/** A turn that failed; `message` is one line fit for the user, `cause` holds the detail. */
export class AgentTurnError extends UserFacingError {
  override name = "AgentTurnError";
}

/** A turn cancelled (the request's signal) before its prompt started. */
export class TurnCancelledError extends AgentTurnError {
  override name = "TurnCancelledError";
}

/** How long a failed request waits to learn whether the agent exited, ms. */
const EXIT_SETTLE_MS = 250;
/** How long a response that raced the agent's exit may still win, ms. */
const EXIT_RACE_MS = 20;

/**
 * Awaits an ACP request, but fails as soon as the agent process exits, with a message that says so.
 *
 * @throws TurnCancelledError when `cancel` aborted while waiting.
 * @throws AgentTurnError naming `step` and the reason (the agent exited, the request timed out, or
 *   the agent answered with a JSON-RPC error).
 */
export async function guard<T>(
  proc: AgentProcess,
  request: Promise<T>,
  step: string,
  cancel: AbortSignal,
): Promise<T> {
  const exit = proc.exited.then(async (info): Promise<never> => {
    await sleep(EXIT_RACE_MS);
    throw new AgentTurnError(`the agent ${describeExit(info)} during ${step}`);
  });
  exit.catch(() => {});
  try {
    return await Promise.race([request, exit]);
  } catch (err) {
    if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled", { cause: err });
    if (err instanceof AgentTurnError) throw err;
    if (isTimeout(err)) throw new AgentTurnError(`${step} timed out`, { cause: err });
    // A closed connection or EPIPE usually means the agent died: say how, when it did.
    const info = await Promise.race([proc.exited, sleep(EXIT_SETTLE_MS).then(() => undefined)]);
    if (info) throw new AgentTurnError(`the agent ${describeExit(info)} during ${step}`, { cause: err });
    throw new AgentTurnError(`${step} failed: ${oneLine(err)}`, { cause: err });
  }
}

/** "exited with code 1", "was killed by SIGKILL", "could not be started (spawn x ENOENT)". */
export function describeExit(exit: AgentExit): string {
  if (exit.error) return `could not be started (${exit.error.message})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** Whether an error (or its cause) is a timeout or a cancelled request (JSON-RPC -32800). */
export function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: number; cause?: unknown; message?: string } | null;
  if (!e) return false;
  if (e.name === "TimeoutError" || e.code === -32800 || /timed? ?out|aborted|cancel/i.test(e.message ?? "")) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err && isTimeout(e.cause);
}

/** An error's message on one line, at most 300 characters. */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, " ").slice(0, 300);
}
