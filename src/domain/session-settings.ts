/** One value a session setting can take: its id (sent to the agent) and its label. */
export type SettingValue = { value: string; name: string; description?: string };

/**
 * One setting of an agent's session, as the bot shows it in /settings:
 * - `config_option`: an ACP SessionConfigOption (ACP "Session Config Options"), switched with
 *   session/set_config_option; `kind` boolean options take "true" / "false";
 * - `set_mode`: the older `modes` block (ACP "Session Modes"), switched with session/set_mode, for
 *   agents that offer modes and no config options (Gemini CLI, Kiro v2);
 * - `set_model`: the older `models` block, switched with session/set_model (Kiro v2, Gemini CLI).
 * `category` is the option's ACP category (`mode`, `model`, `thought_level`, `model_config`, a
 * custom `_x`), or "other" when it has none. `current` is the value the agent last reported.
 */
export type SessionSetting = {
  id: string;
  name: string;
  description?: string;
  category: string;
  kind: "select" | "boolean";
  current: string;
  values: SettingValue[];
  via: "config_option" | "set_mode" | "set_model";
};

/** A topic's setting choices as stored (the `sessions.settings` column): setting id -> value. */
export type SettingChoices = Record<string, string>;

/** The category a model choice lives in: /model keeps it in its own column. */
export const MODEL_CATEGORY = "model";

/** Labels of the ACP setting categories, in the order /settings shows them. */
export const CATEGORY_LABELS: ReadonlyArray<readonly [string, string]> = [
  ["mode", "Mode"],
  ["model", "Model"],
  ["thought_level", "Effort"],
  ["model_config", "Model options"],
];

/** The label of a category (its own name for custom ones, e.g. `_x` -> "x"). */
export function categoryLabel(category: string): string {
  return CATEGORY_LABELS.find(([id]) => id === category)?.[1] ?? (category.replace(/^_/, "") || "Other");
}
