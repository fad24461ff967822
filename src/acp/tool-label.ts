import type { RequestPermissionRequest } from "@agentclientprotocol/sdk";

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
