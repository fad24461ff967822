import path from "node:path";
import type { Update } from "telegraf/types";
import { createApp } from "../../src/app.js";
import { configSecrets, createConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { inProcessAgent } from "./in-process-agent.js";
import { testAgentCommand } from "./test-agent-command.js";
import { FIXTURE_USER_ID } from "./updates.js";

/** A token of the real shape; the mock Bot API accepts any. */
export const TEST_BOT_TOKEN = "7000000001:AAH-test-token-0123456789abcdefghijk";
export const TEST_WEBHOOK_SECRET = "test-webhook-secret_42";

/** How a test app runs the test agent; see {@link startTestApp}. */
export type AgentMode = "in-process" | "subprocess";

/** The environment of a test app (see {@link startTestApp}); `options.env` wins. */
export function testAppEnv(options: {
  apiRoot: string;
  dir: string;
  agentFlags?: string[];
  env?: Record<string, string>;
}): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    TELEGRAM_API_ROOT: options.apiRoot,
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_PATH: path.join(options.dir, "tg-acp.db"),
    WORKSPACE_BASE_PATH: path.join(options.dir, "workspaces"),
    ACP_AGENT_COMMAND: testAgentCommand(path.join(options.dir, "agent"), options.agentFlags),
    ALLOWED_USER_IDS: String(FIXTURE_USER_ID),
    LOG_LEVEL: "debug",
    ACP_REPLAY_QUIET_MS: "100",
    AGENT_STOP_GRACE_MS: "1000",
    // No warm spares unless a test asks: most tests count the agent processes a turn starts.
    AGENT_WARM_SPARES: "0",
    // Fast pacing keeps tests quick; streaming tests set their own.
    STREAM_EDIT_INTERVAL_MS: "200",
    GROUP_CHAT_MESSAGES_PER_MINUTE: "600",
    PRIVATE_CHAT_MESSAGES_PER_MINUTE: "600",
    CHAT_MIN_INTERVAL_MS: "20",
    ...options.env,
  };
}

/**
 * Starts the whole app on 127.0.0.1 (random port) against the mock Bot API at `apiRoot`, with the
 * test ACP agent (state in `<dir>/agent`; in-process unless `agent: "subprocess"`), the database at `<dir>/tg-acp.db` and workspaces under
 * `<dir>/workspaces`. Log lines are kept in `logLines`, errors passed to `onFatal` in `fatalErrors`.
 */
export async function startTestApp(options: {
  apiRoot: string;
  dir: string;
  agentFlags?: string[];
  /**
   * How the test agent runs: in the test's process (default: fast; no pids, no environment of its
   * own) or as a subprocess of ACP_AGENT_COMMAND (for spawning, process groups, signals, env).
   */
  agent?: AgentMode;
  env?: Record<string, string>;
}) {
  const env = testAppEnv(options);
  const config = createConfig(env, process.cwd());
  const logLines: string[] = [];
  const logger = createLogger({
    level: config.logLevel,
    secrets: configSecrets(config),
    destination: { write: (line: string) => void logLines.push(line) },
  });
  const fatalErrors: Error[] = [];
  const app = createApp(config, {
    env: { ...process.env, ...env },
    cwd: process.cwd(),
    logger,
    ...(options.agent === "subprocess"
      ? {}
      : {
          launchAgent: inProcessAgent([
            "--state-dir",
            path.join(options.dir, "agent"),
            ...(options.agentFlags ?? []),
          ]),
        }),
    onFatal: (err) => void fatalErrors.push(err),
  });
  const { port } = await app.start();
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    app,
    config,
    baseUrl,
    logLines,
    fatalErrors,
    /** POSTs an Update to the webhook with the right secret; returns the HTTP status. */
    async postUpdate(
      update: Update | Record<string, unknown>,
      secret = TEST_WEBHOOK_SECRET,
    ): Promise<number> {
      const res = await fetch(`${baseUrl}${config.http.webhookPath}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
        body: JSON.stringify(update),
      });
      await res.arrayBuffer();
      return res.status;
    },
    stop: () => app.stop(),
  };
}

/** The handle returned by {@link startTestApp}. */
export type TestApp = Awaited<ReturnType<typeof startTestApp>>;
