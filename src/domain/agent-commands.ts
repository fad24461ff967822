/**
 * One slash command the agent offers (ACP "Slash Commands": available_commands_update; Kiro's
 * `_kiro.dev/commands/available`): its name without the slash, what it does, and the hint for its
 * input when it takes one. The user runs it by sending `/name args`, which goes to the agent as
 * the prompt text `/name args`.
 */
export type AgentCommand = { name: string; description: string; hint?: string };

/** The prefix that reaches an agent command whose name a bot command already has: `/agent_<name>`. */
export const AGENT_COMMAND_PREFIX = "agent_";
