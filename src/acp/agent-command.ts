import fs from "node:fs";
import path from "node:path";

/** How the agents users install today are installed, by their executable's name. */
export const AGENT_INSTALLS: Readonly<Record<string, string>> = {
  "claude-agent-acp": "npm install -g @agentclientprotocol/claude-agent-acp",
  "codex-acp": "npm install -g @agentclientprotocol/codex-acp",
  gemini: "npm install -g @google/gemini-cli",
  "kiro-cli": "curl -fsSL https://cli.kiro.dev/install | bash",
};

/** Thrown when the agent command cannot be run; the message is one line for the operator. */
export class AgentCommandError extends Error {
  override name = "AgentCommandError";
}

/**
 * Resolves the agent's executable like execvp would: a name with a slash is taken as a path
 * (relative to `cwd`), anything else is searched on `PATH`. Returns the absolute path.
 *
 * @throws AgentCommandError when it is missing or not executable.
 */
export function resolveAgentExecutable(command: string, env: NodeJS.ProcessEnv, cwd: string): string {
  const candidates = command.includes("/")
    ? [path.resolve(cwd, command)]
    : (env.PATH ?? "")
        .split(path.delimiter)
        .filter((dir) => dir !== "")
        .map((dir) => path.resolve(cwd, dir, command));
  for (const candidate of candidates) {
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // not here, or not executable: try the next PATH entry
    }
  }
  const install = AGENT_INSTALLS[path.basename(command)];
  throw new AgentCommandError(
    command.includes("/")
      ? `ACP_AGENT_COMMAND: ${command} does not exist or is not executable`
      : `ACP_AGENT_COMMAND: \`${command}\` was not found on PATH (${install ? `install it with \`${install}\`` : "install the agent"}, or set ACP_AGENT_COMMAND to its full command)`,
  );
}

/**
 * The agent's environment: the bot's, minus the variables named in `secretNames` and minus any
 * variable whose value is one of `secretValues` (the token copied into another variable).
 */
export function agentEnvironment(
  env: NodeJS.ProcessEnv,
  secretNames: readonly string[],
  secretValues: readonly string[] = [],
): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of secretNames) delete copy[name];
  const values = new Set(secretValues.filter((value) => value !== ""));
  for (const [name, value] of Object.entries(copy))
    if (value !== undefined && values.has(value)) delete copy[name];
  return copy;
}
