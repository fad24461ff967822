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

/** Every session/update kind of the stable ACP v1 schema in SDK 2.4 (the SDK rejects any other). */
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
 * The answer text a live session/update adds (ACP "Prompt Turn": text content of an
 * agent_message_chunk), or undefined for every other update. Pure.
 */
export function answerTextOf(update: SessionUpdate): string | undefined {
  return update.sessionUpdate === "agent_message_chunk" && update.content.type === "text"
    ? update.content.text
    : undefined;
}

/**
 * Claude Code's transcript of its own slash commands (`/model`, `/cost`...): the blocks it records
 * as `<command-name>`, `<command-message>`, `<command-args>`, `<local-command-stdout>`,
 * `<local-command-stderr>` and `<local-command-caveat>`, which some claude-agent-acp versions replay on
 * session/load as message chunks. Never an answer; the client drops them.
 */
const COMMAND_TRANSCRIPT =
  /^\s*<(command-name|command-message|command-args|local-command-(stdout|stderr|caveat))>/;

/** Whether `update` is a user or agent message chunk holding Claude Code's command transcript. Pure. */
export function isCommandTranscript(update: SessionUpdate): boolean {
  return (
    (update.sessionUpdate === "agent_message_chunk" || update.sessionUpdate === "user_message_chunk") &&
    update.content.type === "text" &&
    COMMAND_TRANSCRIPT.test(update.content.text)
  );
}
