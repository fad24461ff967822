import { spawn } from "node:child_process";
import { entryArgs } from "./entry.js";

/** What a command-line entry printed, and how it exited. */
export type CliResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `src/cli/<name>.ts` with `args` in a child Node process (its test bundle, or through tsx), in `cwd`, with only
 * PATH and `env` in its environment (so no developer's .env or variables leak in). Resolves when it
 * exits.
 */
export function runCliEntry(
  name: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string },
): Promise<CliResult> {
  const child = spawn(process.execPath, [...entryArgs(name, `src/cli/${name}.ts`), ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
