import fs from "node:fs";
import path from "node:path";

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
  throw new AgentCommandError(
    command.includes("/")
      ? `ACP_AGENT_COMMAND: ${command} does not exist or is not executable`
      : `ACP_AGENT_COMMAND: \`${command}\` was not found on PATH (install the agent or set ACP_AGENT_COMMAND to its full command)`,
  );
}

/** The agent's environment: the bot's, minus the variables named in `secretNames`. */
export function agentEnvironment(env: NodeJS.ProcessEnv, secretNames: readonly string[]): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of secretNames) delete copy[name];
  return copy;
}
