import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { DOCKER } from "../../scripts/docker/engine.js";
import { output } from "../../scripts/docker/run.js";

/** A process of a container, as the host sees it (`docker top`): host pid, parent, uid, state. */
export type ContainerProcess = { pid: number; ppid: number; uid: number; stat: string; command: string };

/** The container's processes (`docker top <id> -eo pid,ppid,uid,stat,args`), first the container's PID 1. */
export async function containerProcesses(containerId: string): Promise<ContainerProcess[]> {
  const lines = (await output([DOCKER, "top", containerId, "-eo", "pid,ppid,uid,stat,args"]))
    .split("\n")
    .slice(1);
  return lines
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, pid, ppid, uid, stat, command]) => ({
      pid: Number(pid),
      ppid: Number(ppid),
      uid: Number(uid),
      stat: stat ?? "",
      command: command ?? "",
    }));
}

/** A container's memory, bytes. */
export type ContainerMemory = {
  /** Anonymous memory of its cgroup (`total_rss` of cgroup v1 memory.stat, `anon` of v2): no page cache. */
  anon: number;
  /** The sum of its processes' VmRSS (counts shared pages, such as a binary's text, once per process). */
  processes: number;
};

/** The memory of everything in the container (see {@link ContainerMemory}). */
export async function containerRss(containerId: string): Promise<ContainerMemory> {
  const pid = await output([DOCKER, "inspect", "--format", "{{.State.Pid}}", containerId]);
  const cgroups = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  const v1 = cgroups.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
  const [dir, key] = v1
    ? [`/sys/fs/cgroup/memory${v1.split(":")[2]}`, "total_rss"]
    : [`/sys/fs/cgroup${(cgroups.find((line) => line.startsWith("0::")) ?? "0::/").slice(3)}`, "anon"];
  const line = fs
    .readFileSync(`${dir}/memory.stat`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${key} `));
  if (!line) throw new Error(`${dir}/memory.stat has no ${key}`);
  let processes = 0;
  for (const member of fs.readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean)) {
    try {
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${member}/status`, "utf8"))?.[1];
      processes += Number(kb ?? 0) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return { anon: Number(line.split(" ")[1]), processes };
}

/** Samples {@link containerRss} every `everyMs` until `stop()`; `stop` resolves with the peaks. */
export function sampleRss(containerId: string, everyMs = 100) {
  const peak: ContainerMemory = { anon: 0, processes: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const now = await containerRss(containerId);
        peak.anon = Math.max(peak.anon, now.anon);
        peak.processes = Math.max(peak.processes, now.processes);
      } catch {
        // the container may stop between two samples
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<ContainerMemory> {
      running = false;
      await loop;
      return peak;
    },
  };
}
