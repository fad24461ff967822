import type { RequestPermissionRequest, RequestPermissionResponse } from "@agentclientprotocol/sdk";
import {
  CANCELLED_PERMISSION,
  type PermissionMode,
  rejectResponse,
  selectOption,
  toolLabel,
} from "../domain/permission.js";
import type { Store } from "../domain/store.js";
import { type TopicKey, topicKeyId } from "../domain/topic-key.js";
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

/** Sessions whose "Allow for this session" choices are remembered (the newest). */
const MAX_SESSION_GRANTS = 1_000;

/**
 * The permission policy of PERMISSION_MODE: `deny` refuses with the agent's reject option and says
 * which tool; `allow` selects the allow option (logged); `ask` answers at once with the allow
 * option when the key chose "always" for the tool kind before, otherwise asks the user through the
 * view and remembers an allow_always answer for the key and tool kind (in the store), and an
 * "Allow for this session" answer for the key, its current session and the tool kind (in memory:
 * the agent offered no allow_always, so the bot answers that session's later requests itself).
 */
export function createPermissionPolicy(deps: {
  mode: PermissionMode;
  store: Store;
  logger: Logger;
}): PermissionPolicy {
  const { store, logger } = deps;
  /** "Allow for this session" choices (this run of the bot): `<key>|<session id>` -> tool kinds. */
  const sessionGrants = new Map<string, Set<string>>();
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
    const granted = sessionGrants.get(`${topicKeyId(key)}|${request.sessionId}`);
    if (granted?.has(toolKind)) {
      const allowed = selectOption(request, "allow_once", "allow_always");
      if (allowed) {
        await view.notice(`✅ Allowed ${label}: you allowed ${toolKind} tools for this session.`);
        return allowed;
      }
    }
    const { forSession, ...response } = await view.askPermission(request, signal);
    if (forSession) {
      const id = `${topicKeyId(key)}|${request.sessionId}`;
      sessionGrants.set(id, new Set([...(sessionGrants.get(id) ?? []), toolKind]));
      if (sessionGrants.size > MAX_SESSION_GRANTS)
        sessionGrants.delete(sessionGrants.keys().next().value as string);
    }
    const { outcome } = response;
    const chosen =
      outcome.outcome === "selected"
        ? request.options.find((o) => o.optionId === outcome.optionId)
        : undefined;
    if (chosen?.kind === "allow_always") await store.grantPermission(key, toolKind);
    return response;
  };
}
