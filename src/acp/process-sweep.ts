import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** The environment variable every agent process carries: `<instance>:<boot>:<n>` (see agentMarkers). */
export const AGENT_MARKER_ENV = "TG_ACP_AGENT";

/**
 * The markers of one bot instance (`instance`: stable across restarts, e.g. a hash of its database;
 * `boot`: new at every start): `next()` gives each agent process its own. Children inherit the
 * environment, also those that leave the process group with setsid, so the marker finds them.
 */
export function agentMarkers(instance: string, boot: string) {
  let count = 0;
  return {
    instance,
    boot,
    /** A marker for the next agent process. */
    next: (): string => `${instance}:${boot}:${++count}`,
  };
}

/** A process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or undefined when gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (in parentheses, which may hold spaces): state is field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The value of `name` in a process's environment (/proc/<pid>/environ), or undefined. */
function environOf(pid: number, name: string): string | undefined {
  try {
    const prefix = `${name}=`;
    const entry = fs
      .readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .find((e) => e.startsWith(prefix));
    return entry?.slice(prefix.length);
  } catch {
    return undefined; // gone, or another user's (not readable)
  }
}

/**
 * Processes of this user (the ones whose /proc/<pid>/environ is readable) whose agent marker makes
 * `match` true; never this process itself. Linux only (/proc); elsewhere none.
 */
export function markedProcesses(match: (marker: string) => boolean): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const marker = environOf(pid, AGENT_MARKER_ENV);
    if (marker !== undefined && match(marker)) found.push(pid);
  }
  return found;
}

/**
 * Ends processes: SIGTERM, then SIGKILL after `graceMs` for those still alive (zombies count as
 * gone). Resolves once they are gone or killed; never throws.
 */
export async function endProcesses(pids: number[], graceMs: number): Promise<void> {
  const alive = (pid: number) => {
    const state = stateOf(pid);
    return state !== undefined && state !== "Z";
  };
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(25);
  for (const pid of pids.filter(alive)) signal(pid, "SIGKILL");
}

/** A process's state letter (R, S, Z...), or undefined when gone. */
function stateOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** Signals a process group; false when no process of the group is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: nobody left in the group; EPERM: the id now belongs to someone else's process.
    return false;
  }
}
