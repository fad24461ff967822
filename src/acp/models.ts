import * as acp from "@agentclientprotocol/sdk";

/** One model an agent offers. */
export type ModelChoice = { id: string; name: string; description?: string };

/**
 * The models an agent offers for a session, and how to switch them:
 * - `config_option`: a SessionConfigOption of category "model" (or id "model"), switched with
 *   session/set_config_option (ACP "Session Config Options"; claude-agent-acp, codex-acp, Kiro v3);
 * - `legacy`: the pre-config-options `models` block, switched with session/set_model (Kiro v2
 *   engine, Gemini CLI; not in SDK 2.4's schema, so read untyped).
 */
export type AgentModels = {
  source: "config_option" | "legacy";
  /** The config option id (config_option only). */
  configId?: string;
  current: string;
  available: ModelChoice[];
};

/** The model value that means "leave the agent's default". */
export const AUTO_MODEL = "auto";

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
 * `auto` leaves the agent's default and sends nothing.
 *
 * @throws the agent's error when neither method accepts the model.
 */
export async function applyModel(
  agent: acp.ClientContext,
  sessionId: string,
  model: string,
  models: AgentModels | undefined,
  options: () => acp.SendRequestOptions,
): Promise<void> {
  if (model === AUTO_MODEL) return;
  const viaConfigOption = () =>
    agent.request(
      acp.methods.agent.session.setConfigOption,
      { sessionId, configId: models?.configId ?? "model", value: model },
      options(),
    );
  const viaSetModel = () =>
    agent.request<unknown>("session/set_model", { sessionId, modelId: model }, options());
  const [first, second] =
    models?.source === "config_option" ? [viaConfigOption, viaSetModel] : [viaSetModel, viaConfigOption];
  try {
    await first();
  } catch (err) {
    if ((err as { code?: unknown }).code !== METHOD_NOT_FOUND) throw err;
    await second();
  }
}
