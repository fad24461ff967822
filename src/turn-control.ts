import type { ControlBus, ControlServer } from "./cluster/control-bus.js";
import type { TopicKey } from "./domain/topic-key.js";
import type { PermissionTap, RemoteTopicStatus, TurnControl } from "./domain/turn-control.js";
import type { Runner } from "./runner/types.js";

/** How long a web replica waits for the worker of a topic to answer, ms. */
export const CONTROL_REPLY_MS = 3_000;

/**
 * The {@link TurnControl} of a web replica over the control bus: each call is one request that the
 * worker holding the topic's shard answers (see {@link serveTurnControl}).
 */
export function remoteTurnControl(bus: ControlBus, timeoutMs = CONTROL_REPLY_MS): TurnControl {
  const ask = <T>(kind: string, body: unknown) =>
    bus.request(kind, body, timeoutMs) as Promise<T | undefined>;
  return {
    cancel: (key) => ask("cancel", { key }),
    release: async (key) => {
      await bus.request("release", { key }, 0);
    },
    status: (key) => ask<RemoteTopicStatus>("status", { key }),
    models: () => ask("models", {}),
    tap: async (tap) => (await ask<{ handled: boolean }>("tap", tap))?.handled ?? false,
  };
}

/**
 * A worker's side of the control bus: answers the requests of topics whose shard it holds with its
 * runner (/cancel, /new, /status) and permission prompts (relayed taps), and /model's question from
 * any worker; stays silent on the rest, so one worker answers each request.
 */
export function serveTurnControl(deps: {
  runner: Runner;
  takeTap: (tap: PermissionTap) => Promise<boolean>;
  holdsTopic: (key: TopicKey) => boolean;
}): ControlServer {
  const { runner } = deps;
  return async (kind, body) => {
    if (kind === "models") return { models: await runner.availableModels() };
    const key =
      kind === "tap"
        ? { chatId: (body as PermissionTap).chatId, threadId: (body as PermissionTap).threadId, userId: 0 }
        : (body as { key: TopicKey }).key;
    if (!deps.holdsTopic(key)) return undefined;
    switch (kind) {
      case "cancel":
        return runner.cancel(key);
      case "release":
        await runner.resetSession(key);
        return undefined;
      case "status": {
        const { runningForMs, last } = await runner.status(key);
        const status: RemoteTopicStatus = {
          runningForMs,
          last: last && { ...last, finishedAt: last.finishedAt.toISOString() },
        };
        return status;
      }
      case "tap":
        return { handled: await deps.takeTap(body as PermissionTap) };
      default:
        return undefined;
    }
  };
}
