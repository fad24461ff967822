import * as acp from "@agentclientprotocol/sdk";
import type { SessionSetup, TurnResult } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import { type AgentProcess, spawnAgent } from "./agent-process.js";
import { connectAgent } from "./connection.js";
import { withDeadline } from "./deadline.js";
import { AgentTurnError, guard, isTimeout, oneLine, TurnCancelledError } from "./errors.js";
import { applyModel, modelsOf } from "./models.js";
import { promptBlocks, promptUsage } from "./prompt-content.js";
import {
  closeSession,
  createSession,
  restoreSession,
  type SetupTiming,
  type StartedAgent,
  setupRequest,
} from "./session-setup.js";
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
};

/**
 * The ACP client side of the bot: runs each turn in its own agent subprocess (ACP over stdio,
 * JSON-RPC 2.0): initialize → session/resume | session/load | session/new → model → session/prompt,
 * then ends the process gently. Follows ACP v1 "Initialization", "Session Setup" and "Prompt Turn".
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
    options.launch ?? ((cwd: string) => spawnAgent({ argv: options.argv, cwd, env: options.env, logger }));

  /** Starts the agent, connects and initializes it (ACP "Initialization"). */
  async function start(cwd: string, callbacks: TurnCallbacks, cancel: AbortSignal): Promise<StartedAgent> {
    const proc = launch(cwd);
    const session = connectAgent(proc, callbacks, cancel, logger);
    const request: acp.InitializeRequest = {
      protocolVersion: acp.PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
      clientInfo,
    };
    try {
      const init = await setupRequest(proc, "initialize", timing, cancel, (o) =>
        session.agent.request(acp.methods.agent.initialize, request, o),
      );
      return { proc, session, init, capabilities: init.agentCapabilities ?? {} };
    } catch (err) {
      await end({ proc, session });
      throw err;
    }
  }

  async function end(started: Pick<StartedAgent, "proc" | "session">): Promise<void> {
    started.session.close();
    await started.proc.stop(options.stopGraceMs);
  }

  /** Ends the session (session/close when offered) and the process. */
  async function finish(started: StartedAgent): Promise<void> {
    await closeSession(started, timing, logger);
    await end(started);
  }

  /** The session for the turn: restored, or new (telling the user when the old one was lost). */
  async function setUp(
    request: TurnRequest,
    callbacks: TurnCallbacks,
    cancel: AbortSignal,
    first: StartedAgent,
  ) {
    let started = first;
    if (request.sessionId !== undefined) {
      try {
        const restored = await restoreSession(started, request.sessionId, request.cwd, timing, cancel);
        return { started, sessionId: request.sessionId, ...restored };
      } catch (err) {
        if (err instanceof TurnCancelledError) throw err;
        logger.warn({ err, sessionId: request.sessionId }, "could not restore session; starting a new one");
        callbacks.onNotice(
          `⚠️ The earlier context of this topic could not be restored (${oneLine(err)}); starting a new session.`,
        );
        // An agent that hung or died on load is not trusted with the new session.
        if (!started.session.isOpen() || isTimeout(err)) {
          void end(started);
          started = await start(request.cwd, callbacks, cancel);
        }
      }
    }
    const created = await createSession(started, request.cwd, timing, cancel);
    callbacks.onSessionId(created.sessionId);
    return {
      started,
      sessionId: created.sessionId,
      setup: "new" as SessionSetup,
      response: created as unknown,
    };
  }

  return {
    /**
     * Runs one turn. Replayed history is never reported; a session that cannot be restored is
     * replaced by a new one (the user is told in one line through `onNotice`).
     *
     * @throws TurnCancelledError when `request.signal` aborts before the prompt is sent.
     * @throws AgentTurnError when the agent cannot be started, set up, or fails the prompt.
     */
    async runTurn(request: TurnRequest, callbacks: TurnCallbacks): Promise<TurnResult> {
      const cancel = request.signal ?? never;
      if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled");
      let started = await start(request.cwd, callbacks, cancel);
      try {
        const ready = await setUp(request, callbacks, cancel, started);
        started = ready.started;
        const { session, proc } = started;
        const { sessionId, setup } = ready;
        session.state.sessionId = sessionId;

        const models = modelsOf(ready.response);
        if (models) callbacks.onModels?.(models);
        try {
          await applyModel(session.agent, sessionId, request.model, models, (_step, send) =>
            withDeadline(options.requestTimeoutMs, cancel, send),
          );
        } catch (err) {
          if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled", { cause: err });
          logger.warn({ err, model: request.model }, "could not apply the model");
          callbacks.onNotice(
            `⚠️ The agent did not accept the model "${request.model}" (${oneLine(err)}); its default model answers.`,
          );
        }
        if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled");

        const content = await promptBlocks(request.prompt, request.attachments ?? [], started.capabilities);
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
        callbacks.onResult?.(result);
        return result;
      } catch (err) {
        const stderr = started.proc.stderrTail().trim();
        if (stderr !== "")
          logger.warn({ agentStderr: stderr.slice(-2000) }, "agent stderr before the failure");
        throw err;
      } finally {
        await finish(started);
      }
    },

    /**
     * Starts the agent in `cwd`, sends initialize and session/new, and ends it: what the agent is,
     * what it can do and which models it offers. Used to list models before a topic's first turn.
     *
     * @throws AgentTurnError when the agent cannot be started or set up.
     */
    async describe(cwd: string): Promise<AgentDescription> {
      const started = await start(cwd, { onNotice: () => {}, onSessionId: () => {} }, never);
      try {
        const created = await createSession(started, cwd, timing, never);
        started.session.state.sessionId = created.sessionId;
        return {
          agentInfo: started.init.agentInfo,
          protocolVersion: started.init.protocolVersion,
          capabilities: started.capabilities,
          models: modelsOf(created),
        };
      } finally {
        await finish(started);
      }
    },
  };
}

/**
 * A promise that rejects with AgentTurnError(`message`) `ms` after `signal` aborts (pending until
 * then); `clear` drops the timer and the listener once the prompt settled.
 */
function rejectAfterAbort(signal: AbortSignal, ms: number, message: string) {
  let timer: NodeJS.Timeout | undefined;
  let arm = () => {};
  const promise = new Promise<never>((_, reject) => {
    arm = () => {
      timer = setTimeout(() => reject(new AgentTurnError(message)), ms);
    };
    if (signal.aborted) arm();
    else signal.addEventListener("abort", arm, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    clear: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", arm);
    },
  };
}
