import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import * as acp from "@agentclientprotocol/sdk";
import type { Logger } from "../logger.js";
import { type AgentExit, type AgentProcess, spawnAgent } from "./agent-process.js";
import { type AgentModels, applyModel, modelsOf } from "./models.js";
import { outputOf, TRANSCRIPT_UPDATE_KINDS, unknownUpdateKind } from "./session-update.js";
import { toolLabel } from "./tool-label.js";

/** One prompt turn to run in a fresh agent process. */
export type TurnRequest = {
  /** Absolute workspace path: the agent's cwd and the cwd of session/new|load|resume. */
  cwd: string;
  /** The stored ACP session id to continue, if the key has one. */
  sessionId: string | undefined;
  /** session/prompt content (ACP "Content"); text blocks at least. */
  prompt: acp.ContentBlock[];
  /** Files that go with the prompt (Telegram photos and documents saved in the workspace). */
  attachments?: Attachment[];
  /** The key's model choice, applied after every session set-up; "auto" leaves the agent's default. */
  model: string;
  /** Aborting cancels the turn: session/cancel once prompting, open permission requests resolve as cancelled. */
  signal?: AbortSignal;
};

/** A file saved for the agent: absolute path, name shown, MIME type, size in bytes. */
export type Attachment = { path: string; name: string; mimeType: string; size: number };

/**
 * The session/prompt content for a turn (ACP "Content"): the text blocks, then each attachment as an
 * image block when the agent accepts images (promptCapabilities.image) and it is one, otherwise as
 * a resource_link to the file (which every agent must accept).
 */
export async function promptBlocks(
  prompt: acp.ContentBlock[],
  attachments: Attachment[],
  capabilities: acp.AgentCapabilities,
): Promise<acp.ContentBlock[]> {
  const blocks = [...prompt];
  for (const file of attachments) {
    if (capabilities.promptCapabilities?.image && file.mimeType.startsWith("image/")) {
      blocks.push({
        type: "image",
        mimeType: file.mimeType,
        data: (await readFile(file.path)).toString("base64"),
      });
    } else {
      blocks.push({
        type: "resource_link",
        uri: pathToFileURL(file.path).href,
        name: file.name,
        mimeType: file.mimeType,
        size: file.size,
      });
    }
  }
  return blocks;
}

/** What the turn reports while it runs. Callbacks must not throw. */
export type TurnCallbacks = {
  /** Every live session/update (never replayed history), in order; kinds the SDK knows only. */
  onUpdate?: (update: acp.SessionUpdate) => void;
  /** A one-line notice for the user (context not restored, model not applied...). */
  onNotice: (line: string) => void;
  /** session/new created this id; persist it before the prompt runs. */
  onSessionId: (sessionId: string) => void;
  /** The agent's model offer, from the session set-up response. */
  onModels?: (models: AgentModels) => void;
  /**
   * Answers session/request_permission (ACP "Requesting Permission"). `signal` aborts when the turn
   * is cancelled or the agent withdraws the request; the client then answers `cancelled` itself.
   * Without this callback every request is refused with the agent's reject option.
   */
  onPermission?: (
    request: acp.RequestPermissionRequest,
    signal: AbortSignal,
  ) => Promise<acp.RequestPermissionResponse>;
  /**
   * The prompt finished; called before the agent process is ended (which can take the stop grace
   * period), so the answer need not wait for it. runTurn still resolves only once the process is gone.
   */
  onResult?: (result: TurnResult) => void;
};

/** How the turn's session was set up. */
export type SessionSetup = "new" | "resumed" | "loaded";

/** Token and context usage, as far as the agent reports it (usage_update, PromptResponse.usage). */
export type TurnUsage = {
  /** Context window tokens in use and its size (usage_update). */
  contextUsed?: number;
  contextSize?: number;
  cost?: { amount: number; currency: string };
  /** Tokens of this turn (PromptResponse.usage, unstable). */
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
};

/** The outcome of a completed session/prompt. */
export type TurnResult = {
  sessionId: string;
  setup: SessionSetup;
  /** ACP stop reason: end_turn | max_tokens | max_turn_requests | refusal | cancelled. */
  stopReason: acp.StopReason;
  /** All live agent_message_chunk text, concatenated. */
  text: string;
  usage?: TurnUsage;
};

/** What {@link AcpClient.describe} learns from an agent without prompting it. */
export type AgentDescription = {
  agentInfo: acp.Implementation | null | undefined;
  /** The ACP protocol version the agent answered initialize with. */
  protocolVersion: number;
  capabilities: acp.AgentCapabilities;
  models: AgentModels | undefined;
};

/** A turn that failed; `message` is one line fit for the user, `cause` holds the detail. */
export class AgentTurnError extends Error {
  override name = "AgentTurnError";
}

/** A turn cancelled (request.signal) before its prompt started. */
export class TurnCancelledError extends AgentTurnError {
  override name = "TurnCancelledError";
}

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
};

/** Longest wait for a replay that straddles the session/load response (Gemini CLI, Kiro), ms. */
const MAX_REPLAY_DRAIN_MS = 5_000;

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
  const never = new AbortController().signal;

  /** Spawns the agent, connects and initializes it. */
  async function start(cwd: string, callbacks: TurnCallbacks, cancel: AbortSignal) {
    const proc = spawnAgent({ argv: options.argv, cwd, env: options.env, logger });
    const session = connect(proc, callbacks, cancel, logger);
    const setupLimit = (): acp.SendRequestOptions => ({
      cancellationSignal: AbortSignal.any([AbortSignal.timeout(options.requestTimeoutMs), cancel]),
      stopWaitingOnCancel: true,
    });
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
        cancel,
      );
      return { proc, session, setupLimit, init, capabilities: init.agentCapabilities ?? {} };
    } catch (err) {
      await close(proc, session);
      throw err;
    }
  }
  type Started = Awaited<ReturnType<typeof start>>;

  async function close(proc: AgentProcess, session: Connected) {
    session.connection.close();
    await proc.stop(options.stopGraceMs);
  }

  /** Restores `sessionId` by session/resume or session/load; returns how and the response, or throws why not. */
  async function restore(started: Started, sessionId: string, cwd: string, cancel: AbortSignal) {
    const { proc, session, capabilities, setupLimit } = started;
    session.state.sessionId = sessionId;
    const params = { sessionId, cwd, mcpServers: [] };
    if (capabilities.sessionCapabilities?.resume) {
      const response = await guard(
        proc,
        session.agent.request(acp.methods.agent.session.resume, params, setupLimit()),
        "session/resume",
        cancel,
      );
      return { setup: "resumed" as const, response };
    }
    if (capabilities.loadSession) {
      const response = await guard(
        proc,
        session.agent.request(acp.methods.agent.session.load, params, setupLimit()),
        "session/load",
        cancel,
      );
      await waitQuiet(() => session.state.lastUpdateAt, options.replayQuietMs, MAX_REPLAY_DRAIN_MS);
      return { setup: "loaded" as const, response };
    }
    throw new AgentTurnError("the agent supports neither session/resume nor session/load");
  }

  async function createSession(started: Started, cwd: string, cancel: AbortSignal) {
    const { proc, session, setupLimit } = started;
    return guard(
      proc,
      session.agent.request(acp.methods.agent.session.new, { cwd, mcpServers: [] }, setupLimit()),
      "session/new",
      cancel,
    );
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
        let sessionId = request.sessionId;
        let setup: SessionSetup = "new";
        let setupResponse: unknown;
        if (sessionId !== undefined) {
          try {
            ({ setup, response: setupResponse } = await restore(started, sessionId, request.cwd, cancel));
          } catch (err) {
            if (err instanceof TurnCancelledError) throw err;
            logger.warn({ err, sessionId }, "could not restore session; starting a new one");
            callbacks.onNotice(
              `⚠️ The earlier context of this topic could not be restored (${oneLine(err)}); starting a new session.`,
            );
            sessionId = undefined;
            // An agent that hung or died on load is not trusted with the new session.
            if (!started.session.isOpen() || isTimeout(err)) {
              const previous = started;
              void close(previous.proc, previous.session);
              started = await start(request.cwd, callbacks, cancel);
            }
          }
        }
        const { proc, session } = started;
        if (sessionId === undefined) {
          const created = await createSession(started, request.cwd, cancel);
          sessionId = created.sessionId;
          setup = "new";
          setupResponse = created;
          callbacks.onSessionId(sessionId);
        }
        session.state.sessionId = sessionId;

        const models = modelsOf(setupResponse);
        if (models) callbacks.onModels?.(models);
        try {
          await applyModel(session.agent, sessionId, request.model, models, started.setupLimit);
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
        const response = await guard(proc, Promise.race([prompt, stuck]), "session/prompt", never);
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
        await closeSession(started, options.requestTimeoutMs, logger);
        await close(started.proc, started.session);
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
        const created = await createSession(started, cwd, never);
        started.session.state.sessionId = created.sessionId;
        return {
          agentInfo: started.init.agentInfo,
          protocolVersion: started.init.protocolVersion,
          capabilities: started.capabilities,
          models: modelsOf(created),
        };
      } finally {
        await closeSession(started, options.requestTimeoutMs, logger);
        await close(started.proc, started.session);
      }
    },
  };
}

/** Token counts of a PromptResponse's `usage` (unstable in SDK 2.4; passed through untyped). */
function promptUsage(response: acp.PromptResponse): TurnUsage {
  const usage = (response as { usage?: Record<string, unknown> | null }).usage;
  const out: TurnUsage = {};
  if (!usage) return out;
  for (const [from, to] of [
    ["inputTokens", "inputTokens"],
    ["outputTokens", "outputTokens"],
    ["totalTokens", "totalTokens"],
  ] as const) {
    if (typeof usage[from] === "number") out[to] = usage[from];
  }
  return out;
}

type Connected = ReturnType<typeof connect>;

/** Wires the SDK client app to the process: update filtering, permissions, extension noise. */
function connect(proc: AgentProcess, callbacks: TurnCallbacks, cancel: AbortSignal, logger: Logger) {
  const state = {
    /** false until session/prompt is sent: transcript updates before that are replayed history. */
    live: false,
    sessionId: undefined as string | undefined,
    lastUpdateAt: Date.now(),
    text: "",
    usage: {} as TurnUsage,
    /** Settles once session/cancel has been sent (when the turn is cancelled while prompting). */
    cancelSent: Promise.resolve(),
  };
  const app = acp
    .client({ name: "tg-acp" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      state.lastUpdateAt = Date.now();
      const { update } = params;
      if (update.sessionUpdate === "usage_update") {
        state.usage = {
          ...state.usage,
          contextUsed: update.used,
          contextSize: update.size,
          ...(update.cost ? { cost: { amount: update.cost.amount, currency: update.cost.currency } } : {}),
        };
      } else if (update.sessionUpdate === "config_option_update") {
        const models = modelsOf(update);
        if (models) callbacks.onModels?.(models);
      }
      if (!state.live) {
        if (!TRANSCRIPT_UPDATE_KINDS.has(update.sessionUpdate))
          logger.debug({ update }, "session state update");
        return;
      }
      if (params.sessionId !== state.sessionId) return;
      const output = outputOf(update);
      if (output.kind === "text") state.text += output.text;
      callbacks.onUpdate?.(update);
    })
    .onRequest(acp.methods.client.session.requestPermission, async ({ params, signal }) => {
      const withdrawn = AbortSignal.any([signal, cancel]);
      if (withdrawn.aborted) return { outcome: { outcome: "cancelled" } };
      if (!callbacks.onPermission) return refuse(params, callbacks, logger);
      const cancelled = new Promise<acp.RequestPermissionResponse>((resolve) => {
        const answer = () => resolve({ outcome: { outcome: "cancelled" } });
        signal.addEventListener("abort", answer, { once: true });
        // ACP "Cancellation": session/cancel goes out before the cancelled answers.
        cancel.addEventListener("abort", () => void state.cancelSent.then(answer), { once: true });
      });
      return Promise.race([callbacks.onPermission(params, withdrawn), cancelled]);
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
  // Registered before any permission request can arrive, so it runs before their abort listeners.
  cancel.addEventListener(
    "abort",
    () => {
      const sessionId = state.sessionId;
      if (!state.live || sessionId === undefined) return;
      logger.info({ sessionId }, "sending session/cancel");
      state.cancelSent = connection.agent
        .notify(acp.methods.agent.session.cancel, { sessionId })
        .catch((err: unknown) => logger.warn({ err }, "session/cancel could not be sent"));
    },
    { once: true },
  );
  return {
    agent: connection.agent,
    connection,
    state,
    isOpen: () => !connection.signal.aborted,
  };
}

/** Answers a permission request with the agent's reject option, and tells the user which tool. */
function refuse(
  params: acp.RequestPermissionRequest,
  callbacks: TurnCallbacks,
  logger: Logger,
): acp.RequestPermissionResponse {
  const refusal =
    params.options.find((o) => o.kind === "reject_once") ??
    params.options.find((o) => o.kind === "reject_always");
  callbacks.onNotice(`🚫 Refused ${toolLabel(params)}: tool calls cannot be approved here.`);
  logger.info({ toolCall: params.toolCall, refusal: refusal?.optionId }, "permission request refused");
  return refusal
    ? { outcome: { outcome: "selected", optionId: refusal.optionId } }
    : { outcome: { outcome: "cancelled" } };
}

/** A promise that rejects with AgentTurnError(`message`) `ms` after `signal` aborts; pending otherwise. */
function rejectAfterAbort(signal: AbortSignal, ms: number, message: string): Promise<never> {
  return new Promise<never>((_, reject) => {
    const arm = () => setTimeout(() => reject(new AgentTurnError(message)), ms).unref();
    if (signal.aborted) arm();
    else signal.addEventListener("abort", arm, { once: true });
  });
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
 * @throws TurnCancelledError when `cancel` aborted while waiting.
 * @throws AgentTurnError naming `step` and the reason.
 */
async function guard<T>(
  proc: AgentProcess,
  request: Promise<T>,
  step: string,
  cancel: AbortSignal,
): Promise<T> {
  const exit = proc.exited.then(async (info): Promise<never> => {
    await sleep(20); // let a response that raced the exit win
    throw new AgentTurnError(`the agent ${describeExit(info)} during ${step}`);
  });
  exit.catch(() => {});
  try {
    return await Promise.race([request, exit]);
  } catch (err) {
    if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled", { cause: err });
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
