import * as acp from "@agentclientprotocol/sdk";
import type { Logger } from "../logger.js";
import type { AgentProcess } from "./agent-process.js";
import { connectAgent } from "./connection.js";
import { endProcesses, markedProcesses } from "./process-sweep.js";
import { closeSession, type SetupTiming, type StartedAgent, setupRequest } from "./session-setup.js";

/**
 * Starting and ending agent processes (ACP "Initialization"): `start` spawns the agent in `cwd`,
 * connects the SDK client and sends `initialize` (advertising neither fs nor terminal: the bot
 * serves neither) within the set-up deadline; `end` sends session/close when the agent offers it and
 * ends the process gently (stdin, then SIGTERM, then SIGKILL after `stopGraceMs` each).
 */
export function createAgentStarter(deps: {
  launch: (cwd: string) => AgentProcess;
  timing: SetupTiming;
  clientInfo: { name: string; version: string };
  stopGraceMs: number;
  logger: Logger;
}) {
  const never = new AbortController().signal;
  /** Every agent started and not ended yet. */
  const live = new Set<Pick<StartedAgent, "proc">>();
  const stop = async (started: Pick<StartedAgent, "proc" | "session">): Promise<void> => {
    started.session.close();
    await started.proc.stop(deps.stopGraceMs);
  };
  return {
    /**
     * An initialized agent in `cwd`; aborting `cancel` abandons initialize and ends the process.
     *
     * @throws TurnCancelledError when `cancel` aborts first (after the process is ended).
     * @throws AgentTurnError when it cannot be started, exits, or does not answer initialize in time.
     */
    async start(cwd: string, cancel: AbortSignal = never): Promise<StartedAgent> {
      const proc = deps.launch(cwd);
      live.add({ proc });
      void proc.exited.then(() => {
        for (const agent of live) if (agent.proc === proc) live.delete(agent);
      });
      const session = connectAgent(proc, deps.logger);
      const request: acp.InitializeRequest = {
        protocolVersion: acp.PROTOCOL_VERSION,
        // Notices (ACP "Session Notices"): start-up warnings arrive marked, shown apart from the answer.
        clientCapabilities: {
          fs: { readTextFile: false, writeTextFile: false },
          terminal: false,
          session: { notices: {} },
        },
        clientInfo: deps.clientInfo,
      };
      try {
        const init = await setupRequest(proc, "initialize", deps.timing, cancel, (o) =>
          session.agent.request(acp.methods.agent.initialize, request, o),
        );
        return { proc, session, init, capabilities: init.agentCapabilities ?? {} };
      } catch (err) {
        await stop({ proc, session });
        throw err;
      }
    },

    /** Kills every agent process still alive (SIGKILL to its group): the last step of a shutdown. */
    killAll(): number {
      for (const agent of live) agent.proc.kill();
      return live.size;
    },

    /**
     * Ends the session (session/close when offered) and the process group; then any process still
     * carrying its marker (a child that left the group with setsid). Never throws.
     */
    async end(started: StartedAgent): Promise<void> {
      await closeSession(started, deps.timing, deps.logger);
      await stop(started);
      const marker = started.proc.marker;
      if (marker === undefined) return;
      const escaped = markedProcesses((m) => m === marker);
      if (escaped.length === 0) return;
      deps.logger.warn(
        { pids: escaped },
        "processes of a finished agent outside its process group; ending them",
      );
      await endProcesses(escaped, deps.stopGraceMs);
    },
  };
}
