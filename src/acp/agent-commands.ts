import type { AgentCommand } from "../domain/agent-commands.js";

/** Kiro's extension notification of its slash commands (not the ACP update; Kiro v2 engine). */
export const KIRO_COMMANDS_METHOD = "_kiro.dev/commands/available";

/**
 * The agent's commands out of an available_commands_update (`availableCommands`) or Kiro's
 * `_kiro.dev/commands/available` notification (`commands`, names possibly with their slash). Pure;
 * entries without a name are skipped, names lose a leading "/".
 */
export function agentCommandsOf(params: unknown): AgentCommand[] {
  const p = params as { availableCommands?: unknown; commands?: unknown } | null | undefined;
  const list = Array.isArray(p?.availableCommands)
    ? p.availableCommands
    : Array.isArray(p?.commands)
      ? p.commands
      : [];
  return (list as Array<Record<string, unknown>>).flatMap((c) => {
    const name = typeof c?.name === "string" ? c.name.replace(/^\//, "").trim() : "";
    if (name === "" || /\s/.test(name)) return [];
    const input = c.input as { hint?: unknown } | null | undefined;
    const hint = typeof input?.hint === "string" && input.hint !== "" ? input.hint : undefined;
    return [
      {
        name,
        description: typeof c.description === "string" ? c.description : "",
        ...(hint ? { hint } : {}),
      },
    ];
  });
}
