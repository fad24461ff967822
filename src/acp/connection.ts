import * as acp from "@agentclientprotocol/sdk";
import { CANCELLED_PERMISSION, rejectResponse, toolLabel } from "../domain/permission.js";
import type { TurnUsage } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import { agentCommandsOf, KIRO_COMMANDS_METHOD } from "./agent-commands.js";
import type { AgentProcess } from "./agent-process.js";
import { modelsOf } from "./models.js";
import {
  answerTextOf,
  isCommandTranscript,
  TRANSCRIPT_UPDATE_KINDS,
  unknownUpdateKind,
} from "./session-update.js";
import { settingsOf } from "./settings.js";
import type { TurnCallbacks } from "./turn-types.js";

/** What a connection has learnt during the turn it serves. */
export type ConnectionState = {
  /** false until session/prompt is sent: transcript updates before that are replayed history. */
  live: boolean;
  sessionId: string | undefined;
  /** When the last session/update arrived (Date.now()). */
  lastUpdateAt: number;
  /** The live answer text (agent_message_chunk text), concatenated. */
  text: string;
  usage: TurnUsage;
  /** Settles once session/cancel has been sent (when the turn is cancelled while prompting). */
  cancelSent: Promise<void>;
};

/** Kiro's per-turn metadata notification (context usage percentage, metering; Kiro v2 engine). */
const KIRO_METADATA_METHOD = "_kiro.dev/metadata";

/** An SDK client connection to one agent process, serving one turn at a time. */
export type AgentConnection = {
  agent: acp.ClientContext;
  connection: acp.ClientConnection;
  state: ConnectionState;
  /**
   * Hands the connection to a turn: its callbacks get what the agent sends from now on, and aborting
   * `cancel` sends session/cancel once prompting. Resets the turn's text, usage and live flag; the
   * session id stays (a kept-alive process serves its topic's next turn on the same session).
   */
  bind(callbacks: TurnCallbacks, cancel: AbortSignal): void;
  /** False once the agent's stdout has ended (the process died or closed it). */
  isOpen(): boolean;
  close(): void;
};

/** Callbacks of a connection that serves no turn (a spare, or a kept-alive process between turns). */
const IDLE: TurnCallbacks = { onNotice: () => {}, onSessionId: () => {} };

/**
 * Connects the SDK's client app to an agent process and routes what the agent sends to the turn it
 * is bound to (ACP "Prompt Turn"): session/update kinds this SDK does not know are dropped before the
 * SDK sees them (it would log a -32602 error); replayed history (transcript kinds before
 * session/prompt) is dropped; usage_update and config_option_update are kept; live updates go to
 * `onUpdate`; session/request_permission goes to `onPermission` (or is refused with the agent's
 * reject option when there is none, ACP "Requesting Permission"); extension notifications are
 * logged. When the turn's `cancel` aborts while prompting, session/cancel is sent first and open
 * permission requests are then answered `cancelled` (ACP "Cancellation").
 */
export function connectAgent(proc: AgentProcess, logger: Logger): AgentConnection {
  const state: ConnectionState = {
    live: false,
    sessionId: undefined,
    lastUpdateAt: Date.now(),
    text: "",
    usage: {},
    cancelSent: Promise.resolve(),
  };
  let callbacks = IDLE;
  let cancel = new AbortController().signal;
  let unbindCancel = () => {};

  const app = acp
    .client({ name: "tg-acp" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      state.lastUpdateAt = Date.now();
      const { update } = params;
      if (update.sessionUpdate === "usage_update") {
        // Used and size make the percentage; one the agent reported alone (Kiro) gives way.
        const { contextPercent: _percent, ...rest } = state.usage;
        state.usage = {
          ...rest,
          contextUsed: update.used,
          contextSize: update.size,
          ...(update.cost ? { cost: { amount: update.cost.amount, currency: update.cost.currency } } : {}),
        };
      } else if (update.sessionUpdate === "config_option_update") {
        const models = modelsOf(update);
        if (models) callbacks.onModels?.(models);
        const settings = settingsOf(update);
        if (settings) callbacks.onSettings?.(settings);
      } else if (update.sessionUpdate === "available_commands_update") {
        callbacks.onCommands?.(agentCommandsOf(update));
      } else if (update.sessionUpdate === "session_info_update") {
        if (typeof update.title === "string" && update.title.trim() !== "") callbacks.onTitle?.(update.title);
      } else if (update.sessionUpdate === "notice") {
        // A live event for the user (a start-up warning...), never part of the answer.
        callbacks.onNotice(noticeLine(update));
        return;
      }
      if (!state.live) {
        if (!TRANSCRIPT_UPDATE_KINDS.has(update.sessionUpdate))
          logger.debug({ update }, "session state update");
        return;
      }
      if (params.sessionId !== state.sessionId) return;
      if (isCommandTranscript(update)) {
        logger.debug({ update }, "Claude Code command transcript dropped");
        return;
      }
      state.text += answerTextOf(update) ?? "";
      callbacks.onUpdate?.(update);
    })
    .onRequest(acp.methods.client.session.requestPermission, async ({ params, signal }) => {
      const turn = { callbacks, cancel };
      if (signal.aborted || turn.cancel.aborted) return CANCELLED_PERMISSION;
      if (!turn.callbacks.onPermission) {
        turn.callbacks.onNotice(`🚫 Refused ${toolLabel(params)}: tool calls cannot be approved here.`);
        logger.info({ toolCall: params.toolCall }, "permission request refused");
        return rejectResponse(params);
      }
      const withdrawn = AbortSignal.any([signal, turn.cancel]);
      const cancelled = new Promise<acp.RequestPermissionResponse>((resolve) => {
        const answer = () => resolve(CANCELLED_PERMISSION);
        signal.addEventListener("abort", answer, { once: true });
        // ACP "Cancellation": session/cancel goes out before the cancelled answers.
        turn.cancel.addEventListener("abort", () => void state.cancelSent.then(answer), { once: true });
      });
      return Promise.race([turn.callbacks.onPermission(params, withdrawn), cancelled]);
    })
    .onNotification("*", ({ method, params }) => {
      if (method === KIRO_COMMANDS_METHOD) {
        callbacks.onCommands?.(agentCommandsOf(params));
        return;
      }
      if (method === KIRO_METADATA_METHOD) {
        const percent = (params as { contextUsagePercentage?: unknown } | null)?.contextUsagePercentage;
        if (
          typeof percent === "number" &&
          Number.isFinite(percent) &&
          state.usage.contextUsed === undefined
        ) {
          state.usage = { ...state.usage, contextPercent: percent };
        }
        return;
      }
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
    bind(turnCallbacks, turnCancel) {
      unbindCancel();
      callbacks = turnCallbacks;
      cancel = turnCancel;
      state.live = false;
      state.text = "";
      state.usage = {};
      state.cancelSent = Promise.resolve();
      // Registered before any permission request can arrive, so it runs before their abort listeners.
      const onCancel = () => {
        const sessionId = state.sessionId;
        if (!state.live || sessionId === undefined) return;
        logger.info({ sessionId }, "sending session/cancel");
        state.cancelSent = connection.agent
          .notify(acp.methods.agent.session.cancel, { sessionId })
          .catch((err: unknown) => logger.warn({ err }, "session/cancel could not be sent"));
      };
      turnCancel.addEventListener("abort", onCancel, { once: true });
      unbindCancel = () => turnCancel.removeEventListener("abort", onCancel);
    },
    isOpen: () => !connection.signal.aborted,
    close: () => {
      unbindCancel();
      callbacks = IDLE;
      connection.close();
    },
  };
}

/** One line for an ACP notice (ACP "Session Notices"): severity icon, title, description. */
export function noticeLine(notice: { severity: string; title: string; description?: string | null }): string {
  const icon = notice.severity === "error" ? "❗" : notice.severity === "warning" ? "⚠️" : "ℹ️";
  const detail = notice.description ? `: ${notice.description}` : "";
  return `${icon} ${notice.title}${detail}`.replace(/\s+/g, " ").slice(0, 500);
}
