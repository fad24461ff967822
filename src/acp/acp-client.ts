import { setTimeout as sleep } from "node:timers/promises";
import * as acp from "@agentclientprotocol/sdk";
import type { Logger } from "../logger.js";
import { type AgentExit, type AgentProcess, spawnAgent } from "./agent-process.js";
import { outputOf, TRANSCRIPT_UPDATE_KINDS, unknownUpdateKind } from "./session-update.js";

/** One prompt turn to run in a fresh agent process. */
export type TurnRequest = {
  /** Absolute workspace path: the agent's cwd and the cwd of session/new|load|resume. */
  cwd: string;
  /** The stored ACP session id to continue, if the key has one. */
  sessionId: string | undefined;
  /** session/prompt content (ACP "Content"); text blocks at least. */
  prompt: acp.ContentBlock[];
};

/** What the turn reports while it runs. Callbacks must not throw. */
export type TurnCallbacks = {
  /** A live agent_message_chunk text (never replayed history). */
  onText?: (text: string) => void;
  /** A one-line notice for the user (context not restored, tool call refused...). */
  onNotice: (line: string) => void;
  /** session/new created this id; persist it before the prompt runs. */
  onSessionId: (sessionId: string) => void;
  /**
   * The prompt finished; called before the agent process is ended (which can take the stop grace
   * period), so the answer need not wait for it. runTurn still resolves only once the process is gone.
   */
  onResult?: (result: TurnResult) => void;
};

/** How the turn's session was set up. */
export type SessionSetup = "new" | "resumed" | "loaded";

/** The outcome of a completed session/prompt. */
export type TurnResult = {
  sessionId: string;
  setup: SessionSetup;
  /** ACP stop reason: end_turn | max_tokens | max_turn_requests | refusal | cancelled. */
  stopReason: acp.StopReason;
  /** All live agent_message_chunk text, concatenated. */
  text: string;
};

/** A turn that failed; `message` is one line fit for the user, `cause` holds the detail. */
export class AgentTurnError extends Error {
  override name = "AgentTurnError";
}

/** Options of {@link createAcpClient}; durations in ms. */
export type AcpClientOptions = {
  argv: readonly [string, ...string[]];
  /** The agent's environment (the bot's, minus its secrets). */
  env: NodeJS.ProcessEnv;
  requestTimeoutMs: number;
  replayQuietMs: number;
  stopGraceMs: number;
  logger: Logger;
  clientInfo?: { name: string; version: string };
};

/** Longest wait for a replay that straddles the session/load response (Gemini CLI, Kiro), ms. */
const MAX_REPLAY_DRAIN_MS = 5_000;

/**
 * The ACP client side of the bot: runs each turn in its own agent subprocess (ACP over stdio,
 * JSON-RPC 2.0): initialize → session/resume | session/load | session/new → session/prompt, then
 * ends the process gently. Follows ACP v1 "Initialization", "Session Setup" and "Prompt Turn".
 */
export type AcpClient = ReturnType<typeof createAcpClient>;

/** Creates the ACP client; see {@link AcpClient}. */
export function createAcpClient(options: AcpClientOptions) {
  const { logger } = options;
  const clientInfo = options.clientInfo ?? { name: "tg-acp", version: "0.1.0" };
  const setupLimit = () => ({
    cancellationSignal: AbortSignal.timeout(options.requestTimeoutMs),
    stopWaitingOnCancel: true,
  });

  /** Spawns the agent, connects and initializes it. */
  async function start(cwd: string, callbacks: TurnCallbacks) {
    const proc = spawnAgent({ argv: options.argv, cwd, env: options.env, logger });
    const session = connect(proc, callbacks, logger);
    const initialize: acp.InitializeRequest = {
      protocolVersion: acp.PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
      clientInfo,
    };
    try {
      const init = await guard(
        proc,
        session.agent.request(acp.methods.agent.initialize, initialize, setupLimit()),
        "initialize",
      );
      return { proc, session, capabilities: init.agentCapabilities ?? {} };
    } catch (err) {
      await close(proc, session);
      throw err;
    }
  }

  async function close(proc: AgentProcess, session: Connected) {
    session.connection.close();
    await proc.stop(options.stopGraceMs);
  }

  /** Restores `sessionId` by session/resume or session/load; returns how, or throws why not. */
  async function restore(
    started: Awaited<ReturnType<typeof start>>,
    sessionId: string,
    cwd: string,
  ): Promise<SessionSetup> {
    const { proc, session, capabilities } = started;
    session.state.sessionId = sessionId;
    if (capabilities.sessionCapabilities?.resume) {
      await guard(
        proc,
        session.agent.request(
          acp.methods.agent.session.resume,
          { sessionId, cwd, mcpServers: [] },
          setupLimit(),
        ),
        "session/resume",
      );
      return "resumed";
    }
    if (capabilities.loadSession) {
      await guard(
        proc,
        session.agent.request(
          acp.methods.agent.session.load,
          { sessionId, cwd, mcpServers: [] },
          setupLimit(),
        ),
        "session/load",
      );
      await waitQuiet(() => session.state.lastUpdateAt, options.replayQuietMs, MAX_REPLAY_DRAIN_MS);
      return "loaded";
    }
    throw new AgentTurnError("the agent supports neither session/resume nor session/load");
  }

  return {
    /**
     * Runs one turn. Replayed history is never reported; a session that cannot be restored is
     * replaced by a new one (the user is told in one line through `onNotice`).
     *
     * @throws AgentTurnError when the agent cannot be started, set up, or fails the prompt.
     */
    async runTurn(request: TurnRequest, callbacks: TurnCallbacks): Promise<TurnResult> {
      let started = await start(request.cwd, callbacks);
      try {
        let setup: SessionSetup | undefined;
        let sessionId = request.sessionId;
        if (sessionId !== undefined) {
          try {
            setup = await restore(started, sessionId, request.cwd);
          } catch (err) {
            logger.warn({ err, sessionId }, "could not restore session; starting a new one");
            callbacks.onNotice(
              `⚠️ The earlier context of this topic could not be restored (${oneLine(err)}); starting a new session.`,
            );
            sessionId = undefined;
            // An agent that hung or died on load is not trusted with the new session.
            if (!started.session.isOpen() || isTimeout(err)) {
              const previous = started;
              void close(previous.proc, previous.session);
              started = await start(request.cwd, callbacks);
            }
          }
        }
        const { proc, session } = started;
        if (sessionId === undefined) {
          const created = await guard(
            proc,
            session.agent.request(
              acp.methods.agent.session.new,
              { cwd: request.cwd, mcpServers: [] },
              setupLimit(),
            ),
            "session/new",
          );
          sessionId = created.sessionId;
          setup = "new";
          callbacks.onSessionId(sessionId);
        }
        session.state.sessionId = sessionId;
        session.state.live = true;
        const response = await guard(
          proc,
          session.agent.request(acp.methods.agent.session.prompt, { sessionId, prompt: request.prompt }),
          "session/prompt",
        );
        const result = {
          sessionId,
          setup: setup ?? "new",
          stopReason: response.stopReason,
          text: session.state.text,
        };
        callbacks.onResult?.(result);
        return result;
      } finally {
        await closeSession(started, options.requestTimeoutMs, logger);
        await close(started.proc, started.session);
      }
    },
  };
}

type Connected = ReturnType<typeof connect>;

/** Wires the SDK client app to the process: update filtering, permission refusal, extension noise. */
function connect(proc: AgentProcess, callbacks: TurnCallbacks, logger: Logger) {
  const state = {
    /** false until session/prompt is sent: transcript updates before that are replayed history. */
    live: false,
    sessionId: undefined as string | undefined,
    lastUpdateAt: Date.now(),
    text: "",
  };
  const app = acp
    .client({ name: "tg-acp" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      state.lastUpdateAt = Date.now();
      const { update } = params;
      if (!state.live) {
        if (!TRANSCRIPT_UPDATE_KINDS.has(update.sessionUpdate))
          logger.debug({ update }, "session state update");
        return;
      }
      if (params.sessionId !== state.sessionId) return;
      const output = outputOf(update);
      if (output.kind === "text") {
        state.text += output.text;
        callbacks.onText?.(output.text);
      }
    })
    .onRequest(acp.methods.client.session.requestPermission, ({ params }) => {
      const refusal =
        params.options.find((o) => o.kind === "reject_once") ??
        params.options.find((o) => o.kind === "reject_always");
      const tool = params.toolCall.title ?? params.toolCall.kind ?? "a tool call";
      callbacks.onNotice(`🚫 Refused "${tool}": approving tool calls from Telegram is not supported yet.`);
      logger.info({ toolCall: params.toolCall, refusal: refusal?.optionId }, "permission request refused");
      return refusal
        ? { outcome: { outcome: "selected", optionId: refusal.optionId } }
        : { outcome: { outcome: "cancelled" } };
    })
    .onNotification("*", ({ method }) => {
      logger.debug({ method }, "agent extension notification ignored");
    });
  const readable = proc.stream.readable.pipeThrough(
    new TransformStream<acp.AnyMessage, acp.AnyMessage>({
      transform(message, controller) {
        const unknownKind = unknownUpdateKind(message);
        if (unknownKind === undefined) controller.enqueue(message);
        else
          logger.debug(
            { sessionUpdate: unknownKind },
            "session/update of a kind this client does not know ignored",
          );
      },
    }),
  );
  const connection = app.connect({ readable, writable: proc.stream.writable });
  return {
    agent: connection.agent,
    connection,
    state,
    isOpen: () => !connection.signal.aborted,
  };
}

/** Sends session/close when the agent advertises it (ACP sessionCapabilities.close); errors are logged. */
async function closeSession(
  started: { session: Connected; capabilities: acp.AgentCapabilities },
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  const { session, capabilities } = started;
  const sessionId = session.state.sessionId;
  if (!capabilities.sessionCapabilities?.close || sessionId === undefined || !session.isOpen()) return;
  try {
    await session.agent.request(
      acp.methods.agent.session.close,
      { sessionId },
      { cancellationSignal: AbortSignal.timeout(timeoutMs), stopWaitingOnCancel: true },
    );
  } catch (err) {
    logger.debug({ err }, "session/close failed");
  }
}

/**
 * Awaits an ACP request, but fails as soon as the agent process exits, with a message that says so.
 *
 * @throws AgentTurnError naming `step` and the reason.
 */
async function guard<T>(proc: AgentProcess, request: Promise<T>, step: string): Promise<T> {
  const exit = proc.exited.then(async (info): Promise<never> => {
    await sleep(20); // let a response that raced the exit win
    throw new AgentTurnError(`the agent ${describeExit(info)} during ${step}`);
  });
  exit.catch(() => {});
  try {
    return await Promise.race([request, exit]);
  } catch (err) {
    if (err instanceof AgentTurnError) throw err;
    if (isTimeout(err)) throw new AgentTurnError(`${step} timed out`, { cause: err });
    // A closed connection or EPIPE usually means the agent died: say how, when it did.
    const info = await Promise.race([proc.exited, sleep(EXIT_SETTLE_MS).then(() => undefined)]);
    if (info) throw new AgentTurnError(`the agent ${describeExit(info)} during ${step}`, { cause: err });
    throw new AgentTurnError(`${step} failed: ${oneLine(err)}`, { cause: err });
  }
}

/** How long a failed request waits to learn whether the agent exited, ms. */
const EXIT_SETTLE_MS = 250;

function describeExit(exit: AgentExit): string {
  if (exit.error) return `could not be started (${exit.error.message})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: number; cause?: unknown; message?: string } | null;
  if (!e) return false;
  if (e.name === "TimeoutError" || e.code === -32800 || /timed? ?out|aborted|cancel/i.test(e.message ?? "")) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err && isTimeout(e.cause);
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, " ").slice(0, 300);
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
