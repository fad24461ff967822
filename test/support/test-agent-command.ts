import fs from "node:fs";
import path from "node:path";
import { entryArgs } from "./entry.js";

/** argv that runs the test ACP agent (see test-agent.ts) as a subprocess with its state in `stateDir`. */
export function testAgentArgv(stateDir: string, flags: string[] = []): [string, ...string[]] {
  return [
    process.execPath,
    ...entryArgs("test-agent", "test/support/test-agent.ts"),
    "--state-dir",
    stateDir,
    ...flags,
  ];
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
  if (typeof pid !== "number") {
    throw new Error(`isAlive(${pid}): no process id; this agent ran in-process (start it as a subprocess)`);
  }
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
