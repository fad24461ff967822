import { describe, expect, it } from "vitest";
import { modelsOf } from "../src/acp/models.js";
import { settingsOf } from "../src/acp/settings.js";

describe("modelsOf", () => {
  it("reads a model config option (ACP session config options), flattening groups", () => {
    const response = {
      sessionId: "s",
      configOptions: [
        { id: "mode", name: "Mode", category: "mode", type: "select", currentValue: "ask", options: [] },
        {
          id: "model",
          name: "Model",
          category: "model",
          type: "select",
          currentValue: "opus",
          options: [
            {
              group: "anthropic",
              name: "Anthropic",
              options: [{ value: "opus", name: "Opus", description: "big" }],
            },
            { group: "other", name: "Other", options: [{ value: "haiku", name: "Haiku" }] },
          ],
        },
      ],
    };
    expect(modelsOf(response)).toEqual({
      source: "config_option",
      configId: "model",
      current: "opus",
      available: [
        { id: "opus", name: "Opus", description: "big" },
        { id: "haiku", name: "Haiku" },
      ],
    });
  });

  it("takes a config option of category model whatever its id", () => {
    const response = {
      configOptions: [
        {
          id: "llm",
          name: "LLM",
          category: "model",
          type: "select",
          currentValue: "a",
          options: [{ value: "a", name: "A" }],
        },
      ],
    };
    expect(modelsOf(response)?.configId).toBe("llm");
  });

  it("reads the legacy models block (Kiro v2, Gemini CLI)", () => {
    const response = {
      sessionId: "s",
      models: {
        currentModelId: "auto",
        availableModels: [
          { modelId: "auto", name: "Auto", description: "picks" },
          { modelId: "claude-opus-4.6", name: "Claude Opus 4.6" },
          { name: "no id: skipped" },
        ],
      },
    };
    expect(modelsOf(response)).toEqual({
      source: "legacy",
      current: "auto",
      available: [
        { id: "auto", name: "Auto", description: "picks" },
        { id: "claude-opus-4.6", name: "Claude Opus 4.6" },
      ],
    });
  });

  it("gives undefined when the agent offers no model choice", () => {
    expect(modelsOf({ sessionId: "s" })).toBeUndefined();
    expect(modelsOf({ configOptions: [] })).toBeUndefined();
    expect(modelsOf(undefined)).toBeUndefined();
  });
});

describe("settingsOf", () => {
  it("reads config options of every category; booleans take true/false", () => {
    const settings = settingsOf({
      configOptions: [
        {
          id: "effort",
          name: "Effort",
          category: "thought_level",
          type: "select",
          currentValue: "low",
          options: [{ value: "low", name: "Low" }],
        },
        { id: "fast", name: "Fast", type: "boolean", currentValue: true },
      ],
      modes: { currentModeId: "ask", availableModes: [{ id: "ask", name: "Ask" }] },
    });
    expect(settings).toEqual([
      {
        id: "effort",
        name: "Effort",
        category: "thought_level",
        kind: "select",
        current: "low",
        values: [{ value: "low", name: "Low" }],
        via: "config_option",
      },
      {
        id: "fast",
        name: "Fast",
        category: "other",
        kind: "boolean",
        current: "true",
        values: [
          { value: "true", name: "on" },
          { value: "false", name: "off" },
        ],
        via: "config_option",
      },
    ]);
  });

  it("reads the older modes and models blocks when there are no config options", () => {
    const settings = settingsOf({
      modes: {
        currentModeId: "plan",
        availableModes: [
          { id: "ask", name: "Ask" },
          { id: "plan", name: "Plan" },
        ],
      },
      models: { currentModelId: "auto", availableModels: [{ modelId: "auto", name: "Auto" }] },
    });
    expect(settings?.map((s) => [s.id, s.category, s.current, s.via])).toEqual([
      ["mode", "mode", "plan", "set_mode"],
      ["model", "model", "auto", "set_model"],
    ]);
    expect(settingsOf({ sessionId: "s" })).toBeUndefined();
  });
});
