import { setTimeout as sleep } from "node:timers/promises";
import type { AgentRecord } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import { endProcesses, markedProcesses, processStartTime, signalGroup } from "./process-sweep.js";

/**
 * Ends the agent processes an earlier run of this bot left behind (it was SIGKILLed, or crashed):
 * every process group recorded for an unfinished turn that is still the same process (same start
 * time: a reused pid belongs to someone else and is never touched), and every process of this user
 * whose TG_ACP_AGENT marker is of this bot instance but another boot (spares, children that left
 * their group). SIGTERM, then SIGKILL after `graceMs`. Resolves with how many processes it ended.
 */
export async function endLeftoverAgents(
  recorded: AgentRecord[],
  markers: { instance: string; boot: string },
  graceMs: number,
  logger: Logger,
): Promise<number> {
  const groups = recorded
    .filter((agent) => processStartTime(agent.pid) === agent.startTime)
    .map((a) => a.pid);
  const ours = `${markers.instance}:`;
  const thisBoot = `${ours}${markers.boot}:`;
  const marked = markedProcesses((marker) => marker.startsWith(ours) && !marker.startsWith(thisBoot));
  if (groups.length === 0 && marked.length === 0) return 0;
  logger.warn({ groups, pids: marked }, "ending agent processes an earlier run of the bot left behind");
  for (const pgid of groups) signalGroup(pgid, "SIGTERM");
  await endProcesses(marked, graceMs);
  const deadline = Date.now() + graceMs;
  while (groups.some((pgid) => signalGroup(pgid, 0)) && Date.now() < deadline) await sleep(25);
  for (const pgid of groups) signalGroup(pgid, "SIGKILL");
  return groups.length + marked.length;
}

/** Ends every process of this boot still carrying its marker (the last step of a shutdown). */
export async function endThisBootsAgents(
  markers: { instance: string; boot: string },
  graceMs: number,
): Promise<number> {
  const pids = markedProcesses((marker) => marker.startsWith(`${markers.instance}:${markers.boot}:`));
  await endProcesses(pids, graceMs);
  return pids.length;
}
