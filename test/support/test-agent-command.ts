import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const AGENT = path.join(ROOT, "test/support/test-agent.ts");
const TSX_LOADER = path.join(ROOT, "node_modules/tsx/dist/loader.mjs");

/** argv that runs the test ACP agent (see test-agent.ts) with its state in `stateDir`. */
export function testAgentArgv(stateDir: string, flags: string[] = []): [string, ...string[]] {
  return [process.execPath, "--import", TSX_LOADER, AGENT, "--state-dir", stateDir, ...flags];
}

/** The same as an ACP_AGENT_COMMAND string (double-quoted words). */
export function testAgentCommand(stateDir: string, flags: string[] = []): string {
  return testAgentArgv(stateDir, flags)
    .map((word) => `"${word}"`)
    .join(" ");
}

/** One JSON line the test agent wrote to `<stateDir>/events.jsonl`. */
export type AgentEvent = { event: string; pid: number; at: number; [key: string]: unknown };

/** Reads the test agent's event log (empty when it never started). */
export function readAgentEvents(stateDir: string): AgentEvent[] {
  const file = path.join(stateDir, "events.jsonl");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AgentEvent);
}

/**
 * True while a process with this pid runs. A zombie (exited, waiting for its parent or init to reap
 * it, which can take a moment in a container) does not count.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(pid, 0)
  }
}
