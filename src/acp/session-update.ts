import type { SessionUpdate } from "@agentclientprotocol/sdk";

/**
 * Update kinds that make up the conversation transcript. After session/load they are replayed
 * history (ACP "Loading Sessions") and must never reach the user again.
 */
export const TRANSCRIPT_UPDATE_KINDS: ReadonlySet<string> = new Set([
  "user_message_chunk",
  "agent_message_chunk",
  "agent_thought_chunk",
  "tool_call",
  "tool_call_update",
  "plan",
]);

/** What the bridge does with one session/update, as far as the answer text goes. */
export type TurnOutput = { kind: "text"; text: string } | { kind: "none" };

/** Every session/update kind of the stable ACP v1 schema in SDK 2.4 (what {@link outputOf} handles). */
export const KNOWN_UPDATE_KINDS: ReadonlySet<string> = new Set([
  ...TRANSCRIPT_UPDATE_KINDS,
  "available_commands_update",
  "current_mode_update",
  "config_option_update",
  "session_info_update",
  "usage_update",
  "notice",
  "compaction_update",
  "compaction_summary_chunk",
]);

/**
 * The update kind of a raw JSON-RPC message when it is a session/update notification whose kind
 * this SDK does not know (newer or unstable agents); otherwise undefined. The SDK would reject such a
 * message with a -32602 console error, so the client drops it before the SDK sees it.
 */
export function unknownUpdateKind(message: unknown): string | undefined {
  const m = message as { method?: unknown; params?: { update?: { sessionUpdate?: unknown } } } | null;
  if (m?.method !== "session/update") return undefined;
  const kind = m.params?.update?.sessionUpdate;
  if (typeof kind === "string" && KNOWN_UPDATE_KINDS.has(kind)) return undefined;
  return typeof kind === "string" ? kind : "(none)";
}

/**
 * Maps a live session/update (ACP "Prompt Turn") to answer text. Pure. Only text content of
 * agent_message_chunk becomes text here; other kinds are rendered by later features.
 * Kinds this SDK does not know never get here (see {@link unknownUpdateKind}).
 */
export function outputOf(update: SessionUpdate): TurnOutput {
  switch (update.sessionUpdate) {
    case "agent_message_chunk":
      return update.content.type === "text" ? { kind: "text", text: update.content.text } : { kind: "none" };
    case "user_message_chunk":
    case "agent_thought_chunk":
    case "tool_call":
    case "tool_call_update":
    case "plan":
    case "available_commands_update":
    case "current_mode_update":
    case "config_option_update":
    case "session_info_update":
    case "usage_update":
    case "notice":
    case "compaction_update":
    case "compaction_summary_chunk":
      return { kind: "none" };
    default: {
      // Compile-time check that every known kind is handled; at run time, an unknown kind.
      const unknownKind: never = update;
      void unknownKind;
      return { kind: "none" };
    }
  }
}
