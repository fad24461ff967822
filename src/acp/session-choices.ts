import type * as acp from "@agentclientprotocol/sdk";
import type { Logger } from "../logger.js";
import { withDeadline } from "./deadline.js";
import { oneLine, TurnCancelledError } from "./errors.js";
import { applyModel, modelsOf } from "./models.js";
import { applySettings, settingsOf } from "./settings.js";
import type { TurnCallbacks, TurnRequest } from "./turn-types.js";

/**
 * After a session set-up: reports the agent's offer (models, settings) and applies the topic's
 * choices to the session: the model (applyModel) unless the kept-alive process already has it, then
 * the stored settings (applySettings) unless the process was kept. A model the agent refuses is one
 * notice; a setting it no longer offers or refuses is one notice and `onSettingDropped`, so it is
 * not tried again.
 *
 * @throws TurnCancelledError when the turn is cancelled meanwhile.
 */
export async function applyChoices(args: {
  agent: acp.ClientContext;
  sessionId: string;
  request: TurnRequest;
  /** The set-up response (session/new, load or resume); undefined for a kept-alive process. */
  response: unknown;
  /** The model the kept-alive process was left with; undefined when the session was just set up. */
  keptModel: string | undefined;
  callbacks: TurnCallbacks;
  cancel: AbortSignal;
  requestTimeoutMs: number;
  logger: Logger;
}): Promise<void> {
  const { agent, sessionId, request, callbacks, cancel, logger } = args;
  const kept = args.response === undefined;
  const models = modelsOf(args.response);
  if (models) callbacks.onModels?.(models);
  const offer = settingsOf(args.response);
  if (offer) callbacks.onSettings?.(offer);
  if (!kept || args.keptModel !== request.model) {
    try {
      await applyModel(agent, sessionId, request.model, models, (_step, send) =>
        withDeadline(args.requestTimeoutMs, cancel, send),
      );
    } catch (err) {
      if (cancel.aborted) throw new TurnCancelledError("the turn was cancelled", { cause: err });
      logger.warn({ err, model: request.model }, "could not apply the model");
      callbacks.onNotice(
        `⚠️ The agent did not accept the model "${request.model}" (${oneLine(err)}); its default model answers.`,
      );
    }
  }
  const choices = request.settings ?? {};
  if (kept || Object.keys(choices).length === 0) return;
  const applied = await applySettings(
    agent,
    sessionId,
    choices,
    offer,
    (send) => withDeadline(args.requestTimeoutMs, cancel, send),
    oneLine,
    cancel,
  ).catch((err: unknown) => {
    throw new TurnCancelledError("the turn was cancelled", { cause: err });
  });
  if (applied.offer && applied.offer !== offer) callbacks.onSettings?.(applied.offer);
  for (const id of applied.dropped) {
    callbacks.onSettingDropped?.(
      id,
      `⚠️ The agent no longer offers the setting "${id}" (${choices[id]}); your choice was dropped.`,
    );
  }
  for (const { id, value, reason } of applied.refused) {
    logger.warn({ id, value, reason }, "the agent refused a setting");
    callbacks.onSettingDropped?.(
      id,
      `⚠️ The agent refused ${id} = ${value} (${reason}); your choice was dropped.`,
    );
  }
}
