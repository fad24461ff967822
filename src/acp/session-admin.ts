import * as acp from "@agentclientprotocol/sdk";
import type { AgentSessionInfo } from "../domain/agent-sessions.js";
import { type SetupTiming, type StartedAgent, setupRequest } from "./session-setup.js";

/** Most sessions read from session/list (its pages followed until then). */
const MAX_LISTED = 50;

/**
 * The agent's own sessions (ACP session/list, sessionCapabilities.list), newest first as the agent
 * gives them, following nextCursor up to {@link MAX_LISTED}; undefined when the agent offers no list.
 *
 * @throws AgentTurnError when the agent fails, times out or exits.
 */
export async function listAgentSessions(
  started: StartedAgent,
  timing: SetupTiming,
): Promise<AgentSessionInfo[] | undefined> {
  if (!started.capabilities.sessionCapabilities?.list) return undefined;
  const never = new AbortController().signal;
  const found: AgentSessionInfo[] = [];
  let cursor: string | undefined;
  do {
    const params: acp.ListSessionsRequest = cursor === undefined ? {} : { cursor };
    const page = await setupRequest(started.proc, "session/list", timing, never, (options) =>
      started.session.agent.request(acp.methods.agent.session.list, params, options),
    );
    for (const s of page.sessions) {
      found.push({
        sessionId: s.sessionId,
        cwd: s.cwd,
        ...(s.title ? { title: s.title } : {}),
        ...(s.updatedAt ? { updatedAt: s.updatedAt } : {}),
      });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && found.length < MAX_LISTED);
  return found.slice(0, MAX_LISTED);
}

/**
 * Forks `sessionId` (ACP session/fork, unstable in ACP v1: `sessionCapabilities.fork`, read untyped)
 * in `cwd`; returns the new session's id, or undefined when the agent offers no fork.
 *
 * @throws AgentTurnError when the agent fails, times out or exits, or answers without a session id.
 */
export async function forkAgentSession(
  started: StartedAgent,
  sessionId: string,
  cwd: string,
  timing: SetupTiming,
): Promise<string | undefined> {
  const caps = started.capabilities.sessionCapabilities as { fork?: unknown } | null | undefined;
  if (!caps?.fork) return undefined;
  const never = new AbortController().signal;
  const answer = await setupRequest(started.proc, "session/fork", timing, never, (options) =>
    started.session.agent.request<{ sessionId?: unknown }>(
      "session/fork",
      { sessionId, cwd, mcpServers: [] },
      options,
    ),
  );
  if (typeof answer?.sessionId !== "string") throw new Error("session/fork answered without a sessionId");
  return answer.sessionId;
}

/**
 * The ACP client's session administration, each in an agent process of its own (started in `cwd`,
 * ended after): `listSessions`, `forkSession`, `closeSession`.
 */
export function createSessionAdmin(deps: {
  start: (cwd: string) => Promise<StartedAgent>;
  end: (started: StartedAgent) => Promise<void>;
  /** Ends the process kept alive for a topic key, if any. */
  release: (key: string) => void;
  timing: SetupTiming;
}) {
  const { timing } = deps;
  async function withAgent<T>(cwd: string, fn: (started: StartedAgent) => Promise<T>): Promise<T> {
    const started = await deps.start(cwd);
    try {
      return await fn(started);
    } finally {
      await deps.end(started);
    }
  }
  return {
    /** The agent's own sessions (ACP session/list); undefined when it offers none. See listAgentSessions. */
    listSessions: (cwd: string) => withAgent(cwd, (started) => listAgentSessions(started, timing)),

    /** Forks a session (ACP session/fork); undefined when the agent offers no fork. See forkAgentSession. */
    forkSession: (sessionId: string, cwd: string) =>
      withAgent(cwd, (started) => forkAgentSession(started, sessionId, cwd, timing)),

    /**
     * Closes a session (ACP session/close, when the agent offers it) in a process of its own, after
     * ending the process kept alive for `keepAliveKey`. Returns whether the agent offers close.
     *
     * @throws AgentTurnError when the agent cannot be started.
     */
    closeSession(sessionId: string, cwd: string, keepAliveKey: string): Promise<boolean> {
      deps.release(keepAliveKey);
      return withAgent(cwd, async (started) => {
        // Ending the agent sends session/close for its session (see createAgentStarter's end).
        started.session.state.sessionId = sessionId;
        return Boolean(started.capabilities.sessionCapabilities?.close);
      });
    },
  };
}
