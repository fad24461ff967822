import fs from "node:fs";
import path from "node:path";
import type { AgentLaunch } from "./acp-driver.js";
import { AGENT_PACKAGES, type AgentId, type AgentPackage, installPaths } from "./install.js";

/**
 * How to run each real agent offline against the fake model (test/support/fake-model.ts): argv,
 * and an environment with its own HOME (so nothing of the machine's user config or logins is read
 * or written), its config dir inside that HOME, the model's base URL, a dummy API key, and
 * telemetry, update checks and other phone-home traffic off. Config files are written into HOME by
 * {@link prepareAgentHome}.
 */
export type AgentRecipe = {
  id: AgentId;
  pkg: AgentPackage;
  /** Arguments after the executable. */
  args: string[];
  /** The model API it speaks (what the fake model should see). */
  api: "responses" | "anthropic" | "gemini";
  /** The model id the recipe selects by default. */
  defaultModel: string;
  /** Writes the agent's config into `home`; returns the agent-specific environment. */
  configure(home: string, modelUrl: string, model: string): Record<string, string>;
};

/** The dummy key every agent is given; the fake model accepts any. */
export const FAKE_API_KEY = "sk-fake-tg-acp-0000000000000000";

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/**
 * codex config.toml: a model provider that points at the fake model's Responses API and no retries
 * (a failure shows at once). Approval and sandbox come from the ACP mode (INITIAL_AGENT_MODE).
 */
function codexConfig(modelUrl: string, model: string): string {
  return `${[
    `model = "${model}"`,
    `model_provider = "fake"`,
    `check_for_update_on_startup = false`,
    `hide_agent_reasoning = true`,
    ``,
    `[model_providers.fake]`,
    `name = "fake model"`,
    `base_url = "${modelUrl}/v1"`,
    `env_key = "OPENAI_API_KEY"`,
    `wire_api = "responses"`,
    `request_max_retries = 0`,
    `stream_max_retries = 0`,
    `stream_idle_timeout_ms = 300000`,
    ``,
    // Off: start-up syncs that reach github.com and chatgpt.com (a git ls-remote of the curated
    // plugins repo, remote plugins, apps); offline they only cost time.
    `[features]`,
    `plugins = false`,
    `remote_plugin = false`,
    `plugin_discovery_prefetch = false`,
    `apps = false`,
    `in_app_updates = false`,
    ``,
    `[analytics]`,
    `enabled = false`,
    ``,
    `[feedback]`,
    `enabled = false`,
    ``,
    `[otel]`,
    `exporter = "none"`,
  ].join("\n")}\n`;
}

const codexRecipe = (id: "codex-acp" | "zed-codex-acp"): AgentRecipe => ({
  id,
  pkg: AGENT_PACKAGES[id],
  args: [],
  api: "responses",
  defaultModel: "gpt-5.5",
  configure(home, modelUrl, model) {
    const codexHome = path.join(home, ".codex");
    write(path.join(codexHome, "config.toml"), codexConfig(modelUrl, model));
    return {
      CODEX_HOME: codexHome,
      OPENAI_API_KEY: FAKE_API_KEY,
      OPENAI_BASE_URL: `${modelUrl}/v1`,
      // codex-acp 2.6: hides the browser (ChatGPT) login method.
      NO_BROWSER: "1",
      // codex-acp 2.6's default mode "agent" has a model review approvals; "read-only" asks the
      // client (session/request_permission) before any file edit or unsandboxed command.
      INITIAL_AGENT_MODE: "read-only",
    };
  },
});

export const AGENT_RECIPES: Record<AgentId, AgentRecipe> = {
  "codex-acp": codexRecipe("codex-acp"),
  "zed-codex-acp": codexRecipe("zed-codex-acp"),
  "claude-agent-acp": {
    id: "claude-agent-acp",
    pkg: AGENT_PACKAGES["claude-agent-acp"],
    args: [],
    api: "anthropic",
    // "default": no model in settings.json or ANTHROPIC_MODEL, as for most users; either one would
    // also override the session's model on every session/resume and load.
    defaultModel: "default",
    configure(home, modelUrl, model) {
      const configDir = path.join(home, ".claude");
      const chosen = model === "default" ? {} : { model };
      write(
        path.join(configDir, "settings.json"),
        `${JSON.stringify({ ...chosen, permissions: { defaultMode: "default" } }, null, 2)}\n`,
      );
      return {
        CLAUDE_CONFIG_DIR: configDir,
        ANTHROPIC_BASE_URL: modelUrl,
        ANTHROPIC_API_KEY: FAKE_API_KEY,
        ...(model === "default" ? {} : { ANTHROPIC_MODEL: model }),
        // Claude Code refuses to run as root without it.
        IS_SANDBOX: "1",
        CLAUDE_CODE_MAX_RETRIES: "0",
        DISABLE_TELEMETRY: "1",
        DISABLE_ERROR_REPORTING: "1",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_UPDATES: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      };
    },
  },
  gemini: {
    id: "gemini",
    pkg: AGENT_PACKAGES.gemini,
    args: ["--acp"],
    api: "gemini",
    defaultModel: "gemini-2.5-flash",
    configure(home, modelUrl, model) {
      write(
        path.join(home, ".gemini", "settings.json"),
        `${JSON.stringify(
          {
            security: { auth: { selectedType: "gemini-api-key" }, folderTrust: { enabled: false } },
            // maxAttempts 1: a failing model fails the turn at once (default 10 attempts, minutes).
            general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, maxAttempts: 1 },
            privacy: { usageStatisticsEnabled: false },
            telemetry: { enabled: false },
            model: { name: model },
          },
          null,
          2,
        )}\n`,
      );
      return {
        GEMINI_API_KEY: FAKE_API_KEY,
        GOOGLE_GEMINI_BASE_URL: modelUrl,
        GEMINI_MODEL: model,
        GEMINI_CLI_HOME: home,
        GEMINI_CLI_TRUST_WORKSPACE: "true",
      };
    },
  },
};

/** The environment every agent starts from: no variable of the caller's except PATH and locale. */
function baseEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    USER: process.env.USER ?? "root",
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    TMPDIR: path.join(home, "tmp"),
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    XDG_STATE_HOME: path.join(home, ".local", "state"),
  };
}

/**
 * Writes the agent's config into `home` (created if needed) and returns how to launch it: the
 * installed executable, its args, its environment, and `cwd` as the process's own working directory.
 */
export function prepareAgentHome(
  id: AgentId,
  options: { home: string; modelUrl: string; cwd: string; model?: string; env?: NodeJS.ProcessEnv },
): AgentLaunch & { home: string; model: string } {
  const recipe = AGENT_RECIPES[id];
  const model = options.model ?? recipe.defaultModel;
  fs.mkdirSync(path.join(options.home, "tmp"), { recursive: true });
  const env = { ...baseEnv(options.home), ...recipe.configure(options.home, options.modelUrl, model) };
  const { binPath } = installPaths(recipe.pkg, options.env);
  return { command: binPath, args: recipe.args, env, cwd: options.cwd, home: options.home, model };
}

/** `command args...` as one ACP_AGENT_COMMAND string (each word double-quoted). */
export function commandLine(launch: Pick<AgentLaunch, "command" | "args">): string {
  return [launch.command, ...launch.args].map((word) => `"${word}"`).join(" ");
}
