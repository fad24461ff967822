import type { AcpClientOptions } from "./acp/acp-client.js";
import { agentEnvironment } from "./acp/agent-command.js";
import { type Config, configSecrets, SECRET_ENV_NAMES } from "./config.js";
import type { Logger } from "./logger.js";

/**
 * The ACP client options of the configured agent (ACP_AGENT_COMMAND and the ACP_* / AGENT_* timeouts,
 * in ms), with the bot's environment minus TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (and any
 * variable holding their values) as the agent's environment. Shared by the bot, `npm run chat` and `npm run doctor`.
 */
export function agentClientOptions(config: Config, env: NodeJS.ProcessEnv, logger: Logger): AcpClientOptions {
  return {
    argv: config.agent.argv,
    env: agentEnvironment(env, SECRET_ENV_NAMES, configSecrets(config)),
    requestTimeoutMs: config.agent.requestTimeoutMs,
    replayQuietMs: config.agent.replayQuietMs,
    stopGraceMs: config.agent.stopGraceMs,
    logger,
  };
}
