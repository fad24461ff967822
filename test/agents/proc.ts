import fs from "node:fs";

/** One process as /proc shows it (Linux `proc(5)`): ids, state, start time in clock ticks, RSS in KiB. */
export type ProcInfo = {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  startTicks: number;
  comm: string;
  cmdline: string;
  rssKb: number;
};

/** Reads one process; undefined when it is gone. */
export function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    // Fields after "(comm)": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    // utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
    const rest = stat
      .slice(close + 2)
      .trim()
      .split(" ");
    let cmdline = "";
    let rssKb = 0;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {}
    return {
      pid,
      ppid: Number(rest[1]),
      pgid: Number(rest[2]),
      sid: Number(rest[3]),
      state: rest[0] ?? "?",
      startTicks: Number(rest[19]),
      comm,
      cmdline,
      rssKb,
    };
  } catch {
    return undefined;
  }
}

/** Every process visible in /proc. */
export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** `root` and all its descendants (by parent pid), plus any process still in root's process group. */
export function processTree(root: number, procs: ProcInfo[] = listProcs()): ProcInfo[] {
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const seen = new Map<number, ProcInfo>();
  const stack = procs.filter((p) => p.pid === root || p.pgid === root);
  while (stack.length > 0) {
    const p = stack.pop() as ProcInfo;
    if (seen.has(p.pid)) continue;
    seen.set(p.pid, p);
    stack.push(...(byParent.get(p.pid) ?? []));
  }
  return [...seen.values()].sort((a, b) => a.pid - b.pid);
}

/** True while the process runs and is the same one (same start time); zombies do not count. */
export function isSameAlive(p: Pick<ProcInfo, "pid" | "startTicks">): boolean {
  const now = readProc(p.pid);
  return now !== undefined && now.startTicks === p.startTicks && now.state !== "Z";
}

/** Total RSS of a set of processes, in MiB. */
export function rssMb(procs: ProcInfo[]): number {
  return Math.round(procs.reduce((sum, p) => sum + p.rssKb, 0) / 1024);
}

/** A short label for a process: its executable's base name and first arguments. */
export function label(p: ProcInfo): string {
  const words = p.cmdline.split(" ").filter(Boolean);
  const exe = (words[0] ?? p.comm).split("/").at(-1) ?? p.comm;
  const args = words
    .slice(1, 4)
    .map((w) => (w.includes("/") ? (w.split("/").at(-1) ?? w) : w))
    .join(" ");
  return `${exe}${args ? ` ${args}` : ""}`.slice(0, 60);
}
