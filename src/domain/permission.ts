import type {
  PermissionOptionKind,
  RequestPermissionRequest,
  RequestPermissionResponse,
} from "@agentclientprotocol/sdk";

/** How the agent's permission requests are answered (PERMISSION_MODE): buttons, or always so. */
export type PermissionMode = "ask" | "allow" | "deny";

/** ACP's answer when no option was chosen (ACP "Requesting Permission": outcome `cancelled`). */
export const CANCELLED_PERMISSION: RequestPermissionResponse = { outcome: { outcome: "cancelled" } };

/**
 * The response that selects the request's first option of the first of `kinds` it offers, or
 * undefined when it offers none of them. Options are chosen by kind, never by name.
 */
export function selectOption(
  request: RequestPermissionRequest,
  ...kinds: PermissionOptionKind[]
): RequestPermissionResponse | undefined {
  for (const kind of kinds) {
    const option = request.options.find((o) => o.kind === kind);
    if (option) return { outcome: { outcome: "selected", optionId: option.optionId } };
  }
  return undefined;
}

/** The request's reject option (reject_once, else reject_always), or `cancelled` when it has none. */
export function rejectResponse(request: RequestPermissionRequest): RequestPermissionResponse {
  return selectOption(request, "reject_once", "reject_always") ?? CANCELLED_PERMISSION;
}

/** "title" (kind: command or path) of a permission request's tool call, for one-line messages. */
export function toolLabel(request: RequestPermissionRequest): string {
  const call = request.toolCall;
  const detail = toolDetail(call.rawInput) ?? call.locations?.[0]?.path;
  const title = call.title ?? call.kind ?? "a tool call";
  return `"${title}"${call.kind ? ` (${call.kind}${detail && detail !== title ? `: ${detail}` : ""})` : ""}`;
}

/** The command or path in a tool call's raw input, when the agent gives one. */
export function toolDetail(rawInput: unknown): string | undefined {
  const input = rawInput as Record<string, unknown> | null | undefined;
  for (const field of ["command", "cmd", "path", "file_path", "url"]) {
    const value = input?.[field];
    if (typeof value === "string" && value !== "")
      return value.length > 200 ? `${value.slice(0, 200)}…` : value;
    if (Array.isArray(value) && value.every((v) => typeof v === "string"))
      return value.join(" ").slice(0, 200);
  }
  return undefined;
}
