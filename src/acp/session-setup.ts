import { setTimeout as sleep } from "node:timers/promises";
import * as acp from "@agentclientprotocol/sdk";
import type { SessionSetup } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import type { AgentProcess } from "./agent-process.js";
import type { AgentConnection } from "./connection.js";
import { withDeadline } from "./deadline.js";
import { AgentTurnError, guard } from "./errors.js";

/** An agent process past `initialize`, connected, with what it answered. */
export type StartedAgent = {
  proc: AgentProcess;
  session: AgentConnection;
  init: acp.InitializeResponse;
  capabilities: acp.AgentCapabilities;
};

/** Timing of the set-up requests, ms. */
export type SetupTiming = {
  /** Deadline of each set-up request (initialize, session/new|load|resume, set_*, close). */
  requestTimeoutMs: number;
  /** After session/load, how long no update must arrive before the replay counts as over. */
  replayQuietMs: number;
};

/** Where a session's MCP servers come from (TurnRequest.mcpServers): asked for at each set-up. */
export type McpServersSource = () => Promise<acp.McpServer[]>;

/** The MCP servers for a set-up: `source`'s for an agent that advertises mcpCapabilities.http, else none. */
function serversFor(started: StartedAgent, source: McpServersSource | undefined): Promise<acp.McpServer[]> {
  return started.capabilities.mcpCapabilities?.http && source ? source() : Promise.resolve([]);
}

/** Longest wait for a replay that straddles the session/load response (Gemini CLI, Kiro), ms. */
const MAX_REPLAY_DRAIN_MS = 5_000;

/** A set-up request to the agent within the deadline, failing fast when the agent process exits. */
export function setupRequest<T>(
  proc: AgentProcess,
  step: string,
  timing: SetupTiming,
  cancel: AbortSignal,
  send: (options: acp.SendRequestOptions) => Promise<T>,
): Promise<T> {
  return guard(proc, withDeadline(timing.requestTimeoutMs, cancel, send), step, cancel);
}

/**
 * Restores `sessionId` in `cwd` (ACP "Session Setup"): session/resume when the agent advertises
 * sessionCapabilities.resume (no replay), else session/load when it advertises loadSession (then
 * waits for the replay to go quiet, since some agents replay after answering), with the MCP servers
 * `mcpServers` gives when the agent advertises mcpCapabilities.http (none otherwise).
 *
 * @returns how the session was restored and the agent's response (modes, config options, models).
 * @throws AgentTurnError when the agent can do neither, fails, times out or exits.
 */
export async function restoreSession(
  started: StartedAgent,
  sessionId: string,
  cwd: string,
  timing: SetupTiming,
  cancel: AbortSignal,
  mcpServers?: McpServersSource,
): Promise<{ setup: Exclude<SessionSetup, "new">; response: unknown }> {
  const { session, capabilities } = started;
  session.state.sessionId = sessionId;
  const params = { sessionId, cwd, mcpServers: await serversFor(started, mcpServers) };
  if (capabilities.sessionCapabilities?.resume) {
    const response = await setupRequest(started.proc, "session/resume", timing, cancel, (options) =>
      session.agent.request(acp.methods.agent.session.resume, params, options),
    );
    return { setup: "resumed", response };
  }
  if (capabilities.loadSession) {
    const response = await setupRequest(started.proc, "session/load", timing, cancel, (options) =>
      session.agent.request(acp.methods.agent.session.load, params, options),
    );
    // The quiet period counts from the response at the earliest: a replay that follows it late
    // (Gemini CLI, Kiro) must still be drained, however long the set-up took before.
    const answeredAt = Date.now();
    await waitQuiet(
      () => Math.max(session.state.lastUpdateAt, answeredAt),
      timing.replayQuietMs,
      MAX_REPLAY_DRAIN_MS,
    );
    return { setup: "loaded", response };
  }
  throw new AgentTurnError("the agent supports neither session/resume nor session/load");
}

/**
 * session/new in `cwd` (ACP "Creating a Session") with the MCP servers `mcpServers` gives when the
 * agent advertises mcpCapabilities.http (none otherwise).
 *
 * @throws AgentTurnError when the agent fails, times out or exits.
 */
export async function createSession(
  started: StartedAgent,
  cwd: string,
  timing: SetupTiming,
  cancel: AbortSignal,
  mcpServers?: McpServersSource,
): Promise<acp.NewSessionResponse> {
  const servers = await serversFor(started, mcpServers);
  return setupRequest(started.proc, "session/new", timing, cancel, (options) =>
    started.session.agent.request(acp.methods.agent.session.new, { cwd, mcpServers: servers }, options),
  );
}

/**
 * Sends session/close when the agent advertises it (ACP sessionCapabilities.close) and the
 * connection is still open. Never throws: a failure is logged at debug.
 */
export async function closeSession(
  started: StartedAgent,
  timing: SetupTiming,
  logger: Logger,
): Promise<void> {
  const { session, capabilities } = started;
  const sessionId = session.state.sessionId;
  if (!capabilities.sessionCapabilities?.close || sessionId === undefined || !session.isOpen()) return;
  try {
    await withDeadline(timing.requestTimeoutMs, new AbortController().signal, (options) =>
      session.agent.request(acp.methods.agent.session.close, { sessionId }, options),
    );
  } catch (err) {
    logger.debug({ err }, "session/close failed");
  }
}

/** Resolves once `lastAt()` is `quietMs` in the past, or after `maxMs` at the latest. */
async function waitQuiet(lastAt: () => number, quietMs: number, maxMs: number): Promise<void> {
  if (quietMs <= 0) return;
  const deadline = Date.now() + maxMs;
  for (;;) {
    const remaining = lastAt() + quietMs - Date.now();
    if (remaining <= 0 || Date.now() >= deadline) return;
    await sleep(Math.min(remaining, deadline - Date.now()));
  }
}
