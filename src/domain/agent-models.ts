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
