import * as acp from "@agentclientprotocol/sdk";
import type { SessionSetup, TurnResult } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import { type AgentPool, type AgentPoolOptions, createAgentPool } from "./agent-pool.js";
import { type AgentProcess, spawnAgent } from "./agent-process.js";
import { createSessionMinuteGuard } from "./agent-quirks.js";
import { createAgentStarter } from "./agent-start.js";
import { rejectAfterAbort } from "./deadline.js";
import { guard, isTimeout, oneLine, TurnCancelledError } from "./errors.js";
import { modelsOf } from "./models.js";
import { processStartTime } from "./process-sweep.js";
import { promptBlocks, promptUsage } from "./prompt-content.js";
import { createSessionAdmin } from "./session-admin.js";
import { applyChoices } from "./session-choices.js";
import { createSession, restoreSession, type SetupTiming, type StartedAgent } from "./session-setup.js";
import { settingsOf } from "./settings.js";
import type { AgentDescription, TurnCallbacks, TurnRequest } from "./turn-types.js";

/** Options of {@link createAcpClient}; durations in ms. */
export type AcpClientOptions = {
  argv: readonly [string, ...string[]];
  /** The agent's environment (the bot's, minus its secrets). */
  env: NodeJS.ProcessEnv;
  requestTimeoutMs: number;
  replayQuietMs: number;
  /** Grace periods of the process shutdown, and how long a cancelled prompt may take to stop. */
  stopGraceMs: number;
  logger: Logger;
  clientInfo?: { name: string; version: string };
  /** Starts the agent with `cwd` as its working directory; {@link spawnAgent} of `argv` by default. */
  launch?: (cwd: string) => AgentProcess;
  /** Gives each spawned agent its TG_ACP_AGENT marker (see agentMarkers); none without. */
  markers?: { next(): string };
  /** Warm spares and keep-alive (see createAgentPool); without it every turn spawns its own process. */
  pool?: Pick<
    AgentPoolOptions,
    "spares" | "spareMaxAgeMs" | "neutralCwd" | "keepAliveMs" | "maxProcesses" | "retryDelayMs"
  >;
};

/**
 * The ACP client side of the bot: runs each turn in an agent subprocess (ACP over stdio, JSON-RPC
 * 2.0): initialize → session/resume | session/load | session/new → model → session/prompt, then ends
 * the process gently. The process comes from the agent pool (a warm spare past initialize, or the
 * topic's kept-alive process with its session still open) when one is configured. Follows ACP v1
 * "Initialization", "Session Setup" and "Prompt Turn".
 */
export type AcpClient = ReturnType<typeof createAcpClient>;

/** Creates the ACP client; see {@link AcpClient}. */
export function createAcpClient(options: AcpClientOptions) {
  const { logger } = options;
  const clientInfo = options.clientInfo ?? { name: "tg-acp", version: "0.1.0" };
  const timing: SetupTiming = {
    requestTimeoutMs: options.requestTimeoutMs,
    replayQuietMs: options.replayQuietMs,
  };
  const never = new AbortController().signal;
  const launch =
    options.launch ??
    ((cwd: string) =>
      spawnAgent({
        argv: options.argv,
        cwd,
        env: options.env,
        ...(options.markers ? { marker: options.markers.next() } : {}),
        logger,
      }));

  const starter = createAgentStarter({
    launch,
    timing,
    clientInfo,
    stopGraceMs: options.stopGraceMs,
    logger,
  });
  const { end, killAll } = starter;
  /** The capabilities of the latest initialize answered (a spare's, a turn's or a probe's). */
  let lastCapabilities: acp.AgentCapabilities | undefined;
  const start: typeof starter.start = async (cwd, cancel) => {
    const started = await starter.start(cwd, cancel);
    lastCapabilities = started.capabilities;
    return started;
  };

  const pool: AgentPool = createAgentPool({
    spares: 0,
    spareMaxAgeMs: Number.POSITIVE_INFINITY,
    neutralCwd: ".",
    keepAliveMs: 0,
    maxProcesses: Number.POSITIVE_INFINITY,
    ...options.pool,
    start,
    end,
    logger,
  });

  const sessionMinute = createSessionMinuteGuard();

  /**
   * The session for the turn: restored, or new (telling the user when the old one was lost). An
   * agent that hung or died on load is replaced: `holder.started` is always the turn's agent.
   */
  async function setUp(
    request: TurnRequest,
    callbacks: TurnCallbacks,
    cancel: AbortSignal,
    holder: { started: StartedAgent },
  ) {
    if (request.sessionId !== undefined) {
      await sessionMinute.beforeLoad(
        holder.started.init,
        request.sessionId,
        callbacks.onNotice,
        cancel,
        request.sessionSavedAt,
      );
      try {
        const { sessionId, cwd, mcpServers } = request;
        const restored = await restoreSession(holder.started, sessionId, cwd, timing, cancel, mcpServers);
        return { sessionId: request.sessionId, ...restored };
      } catch (err) {
        if (err instanceof TurnCancelledError) throw err;
        logger.warn({ err, sessionId: request.sessionId }, "could not restore session; starting a new one");
        const caps = holder.started.capabilities;
        const never = !caps.loadSession && !caps.sessionCapabilities?.resume;
        callbacks.onNotice(
          `⚠️ The earlier context of this topic could not be restored (${oneLine(err)}); starting a new session.`,
          never ? "no-restore" : undefined,
        );
        // An agent that hung or died on load is not trusted with the new session.
        if (!holder.started.session.isOpen() || isTimeout(err)) {
          void pool.done(holder.started);
          holder.started = await pool.take(request.cwd, cancel);
          holder.started.session.bind(callbacks, cancel);
          reportAgent(holder.started, callbacks);
        }
      }
    }
    const created = await createSession(holder.started, request.cwd, timing, cancel, request.mcpServers);
    callbacks.onSessionId(created.sessionId);
    return { sessionId: created.sessionId, setup: "new" as SessionSetup, response: created as unknown };
  }

  return {
    /**
     * Runs one turn. Replayed history is never reported; a session that cannot be restored is
     * replaced by a new one (the user is told in one line through `onNotice`). With keep-alive and a
     * `keepAliveKey`, the topic's process that still holds the session serves the prompt directly.
     *
     * @throws TurnCancelledError when `request.signal` aborts before the prompt is sent.
     * @throws AgentTurnError when the agent cannot be started, set up, or fails the prompt.
     */
    async runTurn(request: TurnRequest, callbacks: TurnCallbacks): Promise<TurnResult> {
      const cancel = request.signal ?? never;
      if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled");
      const kept =
        request.keepAliveKey === undefined
          ? undefined
          : pool.claim(request.keepAliveKey, request.sessionId, request.cwd);
      const holder = { started: kept?.started ?? (await pool.take(request.cwd, cancel)) };
      holder.started.session.bind(callbacks, cancel);
      reportAgent(holder.started, callbacks);
      let keep = false;
      try {
        const ready =
          kept !== undefined
            ? { sessionId: kept.sessionId, setup: "kept" as SessionSetup, response: undefined }
            : await setUp(request, callbacks, cancel, holder);
        const started = holder.started;
        const { session, proc } = started;
        const { sessionId, setup } = ready;
        session.state.sessionId = sessionId;

        await applyChoices({
          agent: session.agent,
          sessionId,
          request,
          response: kept === undefined ? (ready.response ?? {}) : undefined,
          keptModel: kept?.model,
          callbacks,
          cancel,
          requestTimeoutMs: options.requestTimeoutMs,
          logger,
        });
        if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled");

        const content = await promptBlocks(request.prompt, request.attachments ?? [], started.capabilities, {
          files: request.audio ?? [],
          asText: request.audioAsText,
          signal: cancel,
        }).catch((err: unknown) => {
          // A transcription the cancel cut short.
          if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled", { cause: err });
          throw err;
        });
        session.state.live = true;
        const prompt = session.agent.request(acp.methods.agent.session.prompt, {
          sessionId,
          prompt: content,
        });
        const stuck = rejectAfterAbort(
          cancel,
          options.stopGraceMs * 2,
          "the agent did not stop after session/cancel",
        );
        const response = await guard(
          proc,
          Promise.race([prompt, stuck.promise]),
          "session/prompt",
          never,
        ).finally(stuck.clear);
        const usage = { ...session.state.usage, ...promptUsage(response) };
        const result: TurnResult = {
          sessionId,
          setup,
          stopReason: response.stopReason,
          text: session.state.text,
          ...(Object.keys(usage).length > 0 ? { usage } : {}),
        };
        keep = request.keepAliveKey !== undefined && response.stopReason !== "cancelled";
        if (setup === "new") sessionMinute.created(started.init, sessionId);
        callbacks.onResult?.(result);
        return result;
      } catch (err) {
        const stderr = holder.started.proc.stderrTail().trim();
        if (stderr !== "")
          logger.warn({ agentStderr: stderr.slice(-2000) }, "agent stderr before the failure");
        throw err;
      } finally {
        const sessionId = holder.started.session.state.sessionId;
        const key = request.keepAliveKey;
        // An agent that cannot load a session in the minute it made it stays up past that minute.
        const keepForMs = sessionMinute.keepForMs(sessionId);
        await pool.done(
          holder.started,
          keep && key !== undefined && sessionId !== undefined
            ? { key, sessionId, cwd: request.cwd, model: request.model, keepForMs }
            : undefined,
        );
      }
    },

    /**
     * Starts the agent in `cwd`, sends initialize and session/new, and ends it: what the agent is,
     * what it can do and which models it offers. Used to list models before a topic's first turn.
     *
     * @throws AgentTurnError when the agent cannot be started or set up.
     */
    async describe(cwd: string): Promise<AgentDescription> {
      const started = await start(cwd);
      try {
        const created = await createSession(started, cwd, timing, never);
        started.session.state.sessionId = created.sessionId;
        return {
          agentInfo: started.init.agentInfo,
          protocolVersion: started.init.protocolVersion,
          capabilities: started.capabilities,
          models: modelsOf(created),
          settings: settingsOf(created),
        };
      } finally {
        await end(started);
      }
    },

    ...createSessionAdmin({ start, end, release: pool.release, timing }),

    /**
     * The agent's capabilities (ACP initialize `agentCapabilities`) as its latest process answered
     * them, warm spares and probes included; undefined until one has. Starts nothing.
     */
    capabilities: (): acp.AgentCapabilities | undefined => lastCapabilities,

    /** Ends the process kept alive for `key`, if any (/new, a setting that needs a new session). */
    release: (key: string) => pool.release(key),

    /** Starts the warm spares (AGENT_WARM_SPARES), once the bot serves. */
    warmUp: () => pool.warmUp(),

    /** Ends the spares and kept-alive processes and starts no more (shutdown). */
    close: () => pool.close(),

    /** Kills every agent process still alive; returns how many there were. */
    killAll,
  };
}

/** Tells the turn which process serves it (pid, start time, marker), for the journal. */
function reportAgent(started: StartedAgent, callbacks: TurnCallbacks): void {
  const { pid, marker } = started.proc;
  if (pid === undefined || marker === undefined || !callbacks.onAgent) return;
  const startTime = processStartTime(pid);
  if (startTime !== undefined) callbacks.onAgent({ pid, startTime, marker });
}
