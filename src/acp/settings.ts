import * as acp from "@agentclientprotocol/sdk";
import type { SessionSetting, SettingChoices, SettingValue } from "../domain/session-settings.js";

/**
 * Reads the settings an agent offers out of a session/new, load or resume response, a
 * config_option_update or a session/set_config_option response. Pure. Config options (ACP "Session
 * Config Options") win; only without them do the older `modes` (session/set_mode) and `models`
 * (session/set_model) blocks count. Returns undefined when the response carries none of them.
 */
export function settingsOf(response: unknown): SessionSetting[] | undefined {
  const r = response as
    | { configOptions?: acp.SessionConfigOption[] | null; modes?: unknown; models?: unknown }
    | null
    | undefined;
  if (Array.isArray(r?.configOptions) && r.configOptions.length > 0) {
    return r.configOptions.map(fromConfigOption);
  }
  const legacy = [
    legacySetting(r?.modes, ["currentModeId", "availableModes", "id"], { id: "mode", via: "set_mode" }),
    legacySetting(r?.models, ["currentModelId", "availableModels", "modelId"], {
      id: "model",
      via: "set_model",
    }),
  ].filter((s) => s !== undefined);
  return legacy.length > 0 ? legacy : undefined;
}

/**
 * One of the older blocks as a setting: `modes` {currentModeId, availableModes[{id, name}]} or
 * `models` {currentModelId, availableModels[{modelId, name}]}; undefined when absent.
 */
function legacySetting(
  block: unknown,
  [currentField, listField, idField]: [string, string, string],
  setting: { id: "mode" | "model"; via: "set_mode" | "set_model" },
): SessionSetting | undefined {
  const b = block as Record<string, unknown> | null | undefined;
  const list = b?.[listField];
  if (!Array.isArray(list)) return undefined;
  const values = (list as Array<Record<string, unknown>>).flatMap((m) => {
    const id = m[idField];
    return typeof id === "string" ? [value(id, m.name, m.description)] : [];
  });
  const current = b?.[currentField];
  return {
    id: setting.id,
    name: setting.id === "mode" ? "Mode" : "Model",
    category: setting.id,
    kind: "select",
    current: typeof current === "string" ? current : (values[0]?.value ?? ""),
    values,
    via: setting.via,
  };
}

function fromConfigOption(option: acp.SessionConfigOption): SessionSetting {
  const base = {
    id: option.id,
    name: option.name,
    ...(option.description ? { description: option.description } : {}),
    category: option.category ?? "other",
    via: "config_option" as const,
  };
  if (option.type === "boolean") {
    return {
      ...base,
      kind: "boolean",
      current: String(option.currentValue),
      values: [
        { value: "true", name: "on" },
        { value: "false", name: "off" },
      ],
    };
  }
  const flat = option.options.flatMap((entry) => ("group" in entry ? entry.options : [entry]));
  return {
    ...base,
    kind: "select",
    current: option.currentValue,
    values: flat.map((o) => value(o.value, o.name, o.description)),
  };
}

function value(id: string, name: unknown, description: unknown): SettingValue {
  return {
    value: id,
    name: typeof name === "string" && name !== "" ? name : id,
    ...(typeof description === "string" && description !== "" ? { description } : {}),
  };
}

/** What applying a topic's choices did: the latest offer, and the choices dropped or refused. */
export type AppliedSettings = {
  /** The offer after the last switch (the agent's set_config_option answer), or the one given. */
  offer: SessionSetting[] | undefined;
  /** Choices of settings the agent no longer offers (or values it no longer lists). */
  dropped: string[];
  /** Choices the agent refused, with its one-line reason. */
  refused: Array<{ id: string; value: string; reason: string }>;
};

/**
 * Applies a topic's stored choices to a session just set up (ACP "Session Config Options";
 * session/set_mode for agents without config options): a choice the offer already shows is not
 * sent again; model choices are left to applyModel. `limit` runs each request within the set-up
 * deadline; `oneLine` makes an error a reason. Never throws for an agent's refusal; rethrows when
 * `cancel` aborted.
 */
export async function applySettings(
  agent: acp.ClientContext,
  sessionId: string,
  choices: SettingChoices,
  offer: SessionSetting[] | undefined,
  limit: <T>(send: (options: acp.SendRequestOptions) => Promise<T>) => Promise<T>,
  oneLine: (err: unknown) => string,
  cancel: AbortSignal,
): Promise<AppliedSettings> {
  const result: AppliedSettings = { offer, dropped: [], refused: [] };
  for (const [id, chosen] of Object.entries(choices)) {
    const setting = result.offer?.find((s) => s.id === id);
    if (!setting?.values.some((v) => v.value === chosen)) {
      result.dropped.push(id);
      continue;
    }
    if (setting.category === "model" || setting.current === chosen) continue;
    try {
      if (setting.via === "set_mode") {
        await limit((options) =>
          agent.request(acp.methods.agent.session.setMode, { sessionId, modeId: chosen }, options),
        );
        result.offer = result.offer?.map((s) => (s.id === id ? { ...s, current: chosen } : s));
      } else {
        const params =
          setting.kind === "boolean"
            ? { sessionId, configId: id, type: "boolean" as const, value: chosen === "true" }
            : { sessionId, configId: id, value: chosen };
        const answer = await limit((options) =>
          agent.request(acp.methods.agent.session.setConfigOption, params, options),
        );
        result.offer =
          settingsOf(answer) ?? result.offer?.map((s) => (s.id === id ? { ...s, current: chosen } : s));
      }
    } catch (err) {
      if (cancel.aborted) throw err;
      result.refused.push({ id, value: chosen, reason: oneLine(err) });
    }
  }
  return result;
}
