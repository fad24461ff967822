import fs from "node:fs";
import path from "node:path";
import * as acp from "@agentclientprotocol/sdk";

/**
 * The test agent's session settings (flag `--settings config|modes`):
 * - `config`: ACP config options of several categories: `mode` (category mode: ask, code, plan),
 *   `model` (category model: fast, smart), `effort` (category thought_level: low, medium, high,
 *   max; "max" is refused by session/set_config_option) and `fast` (boolean, category model_config),
 *   switched with session/set_config_option (its answer carries the whole set again);
 * - `modes`: the older `modes` block (ask, code, plan), switched with session/set_mode.
 * Like real agents, a new process starts each session on the defaults again. While the file
 * `<state-dir>/no-effort` exists, `effort` is not offered (an option the agent dropped).
 */
export function createTestAgentSettings(options: {
  flag: string | undefined;
  stateDir: string;
  logEvent: (event: Record<string, unknown>) => void;
  /** The session's model (shared with --models). */
  model: (sessionId: string) => string;
  setModel: (sessionId: string, model: string) => void;
}) {
  const { flag } = options;
  const current = new Map<string, Record<string, string>>();
  const valuesOf = (sessionId: string) => ({
    mode: "ask",
    effort: "medium",
    fast: "false",
    ...current.get(sessionId),
    model: options.model(sessionId),
  });
  const effortOffered = () => !fs.existsSync(path.join(options.stateDir, "no-effort"));
  const select = (id: string, name: string, category: string, value: string, values: string[]) => ({
    id,
    name,
    category,
    type: "select" as const,
    currentValue: value,
    options: values.map((v) => ({ value: v, name: v.charAt(0).toUpperCase() + v.slice(1) })),
  });
  const configOptions = (sessionId: string): acp.SessionConfigOption[] => {
    const v = valuesOf(sessionId);
    return [
      select("mode", "Mode", "mode", v.mode, ["ask", "code", "plan"]),
      select("model", "Model", "model", v.model, ["fast", "smart"]),
      ...(effortOffered()
        ? [select("effort", "Effort", "thought_level", v.effort, ["low", "medium", "high", "max"])]
        : []),
      {
        id: "fast",
        name: "Fast mode",
        category: "model_config",
        type: "boolean",
        currentValue: v.fast === "true",
      },
    ];
  };
  const set = (sessionId: string, id: string, value: string, via: string) => {
    current.set(sessionId, { ...current.get(sessionId), [id]: value });
    options.logEvent({ event: via, sessionId, configId: id, value });
  };

  return {
    /** Whether config options are on (they then answer session/set_config_option, model included). */
    configOptions: flag === "config",
    /** The fields of a session/new, load or resume answer. */
    offer(sessionId: string): Record<string, unknown> {
      if (flag === "config") return { configOptions: configOptions(sessionId) };
      if (flag === "modes") {
        return {
          modes: {
            currentModeId: valuesOf(sessionId).mode,
            availableModes: ["ask", "code", "plan"].map((id) => ({ id, name: id.toUpperCase() })),
          },
        };
      }
      return {};
    },
    /** "settings: mode=... effort=... fast=... model=..." (the prompt "which settings"). */
    describe(sessionId: string): string {
      const v = valuesOf(sessionId);
      return `settings: mode=${v.mode} effort=${v.effort} fast=${v.fast} model=${v.model}`;
    },
    /** Registers session/set_config_option or session/set_mode on the agent app. */
    register(app: ReturnType<typeof acp.agent>): void {
      if (flag === "config") {
        app.onRequest(acp.methods.agent.session.setConfigOption, ({ params }) => {
          const { sessionId, configId } = params;
          const value = String(params.value);
          const option = configOptions(sessionId).find((o) => o.id === configId);
          const valid =
            option?.type === "boolean"
              ? typeof params.value === "boolean"
              : option?.type === "select" && option.options.some((o) => "value" in o && o.value === value);
          if (!valid) throw acp.RequestError.invalidParams({ configId, value });
          if (configId === "effort" && value === "max")
            throw acp.RequestError.invalidParams({ effort: "max needs a bigger plan" });
          if (configId === "model") {
            options.setModel(sessionId, value);
            options.logEvent({ event: "session/set_config_option", sessionId, model: value });
          } else set(sessionId, configId, value, "session/set_config_option");
          return { configOptions: configOptions(sessionId) };
        });
      }
      if (flag === "modes") {
        app.onRequest(acp.methods.agent.session.setMode, ({ params }) => {
          if (!["ask", "code", "plan"].includes(params.modeId))
            throw acp.RequestError.invalidParams({ modeId: params.modeId });
          set(params.sessionId, "mode", params.modeId, "session/set_mode");
          return {};
        });
      }
    },
  };
}
