import type * as acp from "@agentclientprotocol/sdk";
import { AgentTurnError } from "./errors.js";

/**
 * Runs one ACP request that must answer within `ms` (or until `cancel` aborts): hands `run` the SDK's
 * request options (`cancellationSignal`, `stopWaitingOnCancel: true`, so the SDK sends
 * `$/cancel_request` and stops waiting). The timeout is an explicit timer held until the request
 * settles, then cleared: `AbortSignal.timeout()` combined with `AbortSignal.any()` can be garbage
 * collected on Node 20 before it fires, and the request would then wait for ever.
 *
 * @throws whatever `run` throws; a timeout rejects with the SDK's "request cancelled" error
 *   (JSON-RPC -32800) whose cause is a DOMException named TimeoutError.
 */
export async function withDeadline<T>(
  ms: number,
  cancel: AbortSignal,
  run: (options: acp.SendRequestOptions) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onCancel = () => controller.abort(cancel.reason);
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError")),
    ms,
  );
  if (cancel.aborted) onCancel();
  else cancel.addEventListener("abort", onCancel, { once: true });
  try {
    return await run({ cancellationSignal: controller.signal, stopWaitingOnCancel: true });
  } finally {
    clearTimeout(timer);
    cancel.removeEventListener("abort", onCancel);
  }
}

/**
 * A promise that rejects with AgentTurnError(`message`) `ms` after `signal` aborts (pending until
 * then); `clear` drops the timer and the listener once the prompt settled.
 */
export function rejectAfterAbort(signal: AbortSignal, ms: number, message: string) {
  let timer: NodeJS.Timeout | undefined;
  let arm = () => {};
  const promise = new Promise<never>((_, reject) => {
    arm = () => {
      timer = setTimeout(() => reject(new AgentTurnError(message)), ms);
    };
    if (signal.aborted) arm();
    else signal.addEventListener("abort", arm, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", arm);
    },
  };
}
