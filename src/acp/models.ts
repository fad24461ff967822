import * as acp from "@agentclientprotocol/sdk";
import type { AgentModels, ModelChoice } from "../domain/agent-models.js";
import { AUTO_MODEL } from "../domain/turn.js";

/**
 * Reads the model offer out of a session/new, session/load or session/resume response (or a
 * config_option_update's options). Pure. Returns undefined when the agent offers no model choice.
 */
export function modelsOf(response: unknown): AgentModels | undefined {
  const r = response as
    | { configOptions?: acp.SessionConfigOption[] | null; models?: unknown }
    | null
    | undefined;
  const option =
    r?.configOptions?.find((o) => o.type === "select" && o.category === "model") ??
    r?.configOptions?.find((o) => o.type === "select" && o.id === "model");
  if (option && option.type === "select") {
    const flat = option.options.flatMap((entry) => ("group" in entry ? entry.options : [entry]));
    return {
      source: "config_option",
      configId: option.id,
      current: option.currentValue,
      available: flat.map((o) => withDescription({ id: o.value, name: o.name }, o.description)),
    };
  }
  const legacy = r?.models as
    | {
        currentModelId?: unknown;
        availableModels?: Array<{ modelId?: unknown; name?: unknown; description?: unknown }>;
      }
    | undefined;
  if (legacy && Array.isArray(legacy.availableModels)) {
    const available = legacy.availableModels
      .filter((m) => typeof m.modelId === "string")
      .map((m) =>
        withDescription(
          { id: m.modelId as string, name: typeof m.name === "string" ? m.name : (m.modelId as string) },
          m.description,
        ),
      );
    return {
      source: "legacy",
      current: typeof legacy.currentModelId === "string" ? legacy.currentModelId : AUTO_MODEL,
      available,
    };
  }
  return undefined;
}

function withDescription(choice: ModelChoice, description: unknown): ModelChoice {
  return typeof description === "string" && description !== "" ? { ...choice, description } : choice;
}

/** JSON-RPC "method not found". */
const METHOD_NOT_FOUND = -32601;

/**
 * Switches the session's model: session/set_config_option when the agent offers a model config
 * option, otherwise session/set_model; when the first answers "method not found", the other is tried.
 * `auto` leaves the agent's default and sends nothing. `limit` runs each request within the set-up
 * deadline.
 *
 * @throws the agent's error when neither method accepts the model.
 */
export async function applyModel(
  agent: acp.ClientContext,
  sessionId: string,
  model: string,
  models: AgentModels | undefined,
  limit: <T>(step: string, send: (options: acp.SendRequestOptions) => Promise<T>) => Promise<T>,
): Promise<void> {
  if (model === AUTO_MODEL) return;
  const viaConfigOption = () =>
    limit("session/set_config_option", (options) =>
      agent.request(
        acp.methods.agent.session.setConfigOption,
        { sessionId, configId: models?.configId ?? "model", value: model },
        options,
      ),
    );
  const viaSetModel = () =>
    limit("session/set_model", (options) =>
      agent.request<unknown>("session/set_model", { sessionId, modelId: model }, options),
    );
  const [first, second] =
    models?.source === "config_option" ? [viaConfigOption, viaSetModel] : [viaSetModel, viaConfigOption];
  try {
    await first();
  } catch (err) {
    if ((err as { code?: unknown }).code !== METHOD_NOT_FOUND) throw err;
    await second();
  }
}
