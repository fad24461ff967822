import fs from "node:fs";
import path from "node:path";
import type { AgentId } from "./install.js";

/** What a check can read of one turn: the JSON of its model request, its prompt, the agent's HOME. */
export type TurnTrace = { body: string; prompt: string; home: string };

/**
 * What the bot-level settings and commands checks (bot-suite.ts) expect of an agent: what its
 * adapter sends (config options in session/new, commands in available_commands_update), measured
 * with the pinned versions of install.ts against the fake model.
 */
export type ControlExpectations = {
  /** The names of the agent's config options, as /settings lists them (`• <name>: <current>`). */
  settings: string[];
  /** The mode value a test taps: its button label, its config value, the setting's id. */
  mode: { label: string; value: string; settingId: string };
  /** Whether the agent ran the turn in that mode, by its own record (not the bot's). */
  modeConfirmed: (turn: TurnTrace) => boolean;
  /**
   * An agent command that needs no model: what the user sends, the prompt text the agent is given
   * (`/name args`, ACP "Slash Commands"), and the agent's answer in the topic.
   */
  command: { send: string; prompt: string; answer: RegExp };
  /** Commands the chat's menu gets after the bot's (clashes as `agent_<name>`). */
  menu: string[];
  /** Commands /help lists that the menu cannot take (names with `-` or `$`). */
  helpOnly: string[];
};

/**
 * The permission mode Claude Code recorded for the user message `prompt`: each user entry of its
 * transcript (`$CLAUDE_CONFIG_DIR/projects/<cwd>/<session>.jsonl`, CLAUDE_CONFIG_DIR = ~/.claude in
 * the recipe) carries `permissionMode`. The model hears of plan mode only on the first turn after it
 * is entered (a "Plan mode is active" system block), so the request alone cannot show it later.
 */
function claudePermissionMode(home: string, prompt: string): string | undefined {
  const projects = path.join(home, ".claude", "projects");
  const files = (fs.readdirSync(projects, { recursive: true }) as string[]).filter((f) =>
    f.endsWith(".jsonl"),
  );
  for (const file of files) {
    for (const line of fs.readFileSync(path.join(projects, file), "utf8").split("\n")) {
      if (!line.includes(prompt)) continue;
      const entry = JSON.parse(line) as {
        type?: string;
        permissionMode?: string;
        message?: { content?: unknown };
      };
      const content = entry.message?.content;
      const text = typeof content === "string" ? content : JSON.stringify(content);
      if (entry.type === "user" && text.includes(prompt)) return entry.permissionMode;
    }
  }
  return undefined;
}

/**
 * codex-acp 2.6.0 and claude-agent-acp 0.101.0. Claude records each turn's mode in its transcript
 * (above); codex names its sandbox per request in the turn metadata it sends the model
 * (`"sandbox_mode":"workspace-write"`), so the last one is the current mode. Claude's `/context`
 * and codex's `/status` (a bot command too, so `/agent_status`) answer without a model call.
 */
export const CONTROL_EXPECTATIONS: Partial<Record<AgentId, ControlExpectations>> = {
  "claude-agent-acp": {
    settings: ["Mode", "Model", "Effort", "Fast mode", "Ultracode"],
    mode: { label: "Plan", value: "plan", settingId: "mode" },
    modeConfirmed: ({ home, prompt }) => claudePermissionMode(home, prompt) === "plan",
    command: { send: "/context", prompt: "/context", answer: /Context Usage[\s\S]*Tokens:/ },
    menu: ["context", "compact", "agent_model", "agent_effort"],
    helpOnly: ["/deep-research", "/security-review"],
  },
  "codex-acp": {
    settings: ["Mode", "Collaboration mode", "Model", "Reasoning effort", "Fast mode"],
    mode: { label: "Workspace access", value: "workspace-write", settingId: "mode" },
    modeConfirmed: ({ body }) =>
      [...body.matchAll(/sandbox_mode\\*"\s*:\s*\\*"([a-z-]+)/g)].at(-1)?.[1] === "workspace-write",
    command: { send: "/agent_status", prompt: "/status", answer: /Sandbox:(?:<\/b>)?\s*read-only/ },
    menu: ["review", "compact", "agent_status"],
    helpOnly: ["/review-branch", "/$imagegen"],
  },
};
