import type { RequestPermissionRequest, RequestPermissionResponse } from "@agentclientprotocol/sdk";
import {
  CANCELLED_PERMISSION,
  type PermissionMode,
  rejectResponse,
  selectOption,
  toolLabel,
} from "../domain/permission.js";
import type { Store } from "../domain/store.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { TurnView } from "./types.js";

/**
 * Answers one session/request_permission of a key's turn (ACP "Requesting Permission").
 * `signal` aborts when the turn is cancelled or the agent withdraws the request.
 */
export type PermissionPolicy = (
  key: TopicKey,
  view: TurnView,
  request: RequestPermissionRequest,
  signal: AbortSignal,
) => Promise<RequestPermissionResponse>;

/**
 * The permission policy of PERMISSION_MODE: `deny` refuses with the agent's reject option and says
 * which tool; `allow` selects the allow option (logged); `ask` answers at once with the allow
 * option when the key chose "always" for the tool kind before, otherwise asks the user through the
 * view and remembers an allow_always answer for the key and tool kind.
 */
export function createPermissionPolicy(deps: {
  mode: PermissionMode;
  store: Store;
  logger: Logger;
}): PermissionPolicy {
  const { store, logger } = deps;
  return async (key, view, request, signal) => {
    const toolKind = request.toolCall.kind ?? "other";
    const label = toolLabel(request);
    if (deps.mode === "deny") {
      await view.notice(`🚫 Refused ${label} (PERMISSION_MODE=deny).`);
      return rejectResponse(request);
    }
    if (deps.mode === "allow") {
      logger.info({ topic: key, toolCall: request.toolCall }, "permission allowed by PERMISSION_MODE=allow");
      return selectOption(request, "allow_once", "allow_always") ?? CANCELLED_PERMISSION;
    }
    if (await store.hasPermissionGrant(key, toolKind)) {
      const allowed = selectOption(request, "allow_always", "allow_once");
      if (allowed) {
        await view.notice(`✅ Allowed ${label}: you chose "always" for ${toolKind} tools in this topic.`);
        return allowed;
      }
    }
    const response = await view.askPermission(request, signal);
    const { outcome } = response;
    const chosen =
      outcome.outcome === "selected"
        ? request.options.find((o) => o.optionId === outcome.optionId)
        : undefined;
    if (chosen?.kind === "allow_always") await store.grantPermission(key, toolKind);
    return response;
  };
}
