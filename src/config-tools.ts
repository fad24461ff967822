import type { z } from "zod";
import type { envSchema } from "./config-env.js";

/** The settings of scheduled prompts and of the bot's MCP server, a part of Config. */
export type AgentToolsConfig = {
  /** Scheduled prompts: SCHEDULE_TZ (IANA), SCHEDULES_PER_TOPIC, SCHEDULE_MIN_INTERVAL_MS (ms). */
  schedules: { timeZone: string; perTopic: number; minIntervalMs: number };
  /**
   * The bot's MCP server for agents that advertise mcpCapabilities.http: its path on the HTTP server,
   * the URL agents are given (undefined: http://<HOST, 127.0.0.1 for 0.0.0.0>:<bound port><path>) and
   * the tool calls per minute per session (more get a tool error).
   */
  mcp: { path: string; url: string | undefined; callsPerMinute: number };
};

/** The {@link AgentToolsConfig} of a parsed environment (createConfig's). */
export function agentToolsConfig(e: z.infer<typeof envSchema>): AgentToolsConfig {
  return {
    schedules: {
      timeZone: e.SCHEDULE_TZ,
      perTopic: e.SCHEDULES_PER_TOPIC,
      minIntervalMs: e.SCHEDULE_MIN_INTERVAL_MS,
    },
    mcp: { path: e.MCP_PATH, url: e.MCP_URL, callsPerMinute: e.MCP_TOOL_CALLS_PER_MINUTE },
  };
}
