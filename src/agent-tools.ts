import type { Telegram } from "telegraf";
import type { Config } from "./config.js";
import type { Store } from "./domain/store.js";
import { messageThreadIdOf, type TopicKey } from "./domain/topic-key.js";
import type { Logger } from "./logger.js";
import { createMcpEndpoint } from "./mcp/mcp-endpoint.js";
import { createMcpTokens, type McpTokens } from "./mcp/mcp-tokens.js";
import type { Runner, ScheduleBook } from "./runner/types.js";
import { sendWorkspaceFile } from "./telegram/file-sender.js";
import type { Outbox } from "./telegram/outbox.js";
import { createQuestionPrompts, type QuestionPrompts } from "./telegram/question-prompts.js";
import { postInTopic } from "./telegram/topic-post.js";

/**
 * Wires the bot's MCP server for its agents (part of the composition root): the session tokens on
 * the store, and the tools done by the Telegram side (files, ask_user questions with their buttons,
 * notices; PERMISSION_TIMEOUT_MS bounds a question) and the scheduler.
 * `port()` is the bound HTTP port, read when a token is handed out (MCP_URL, when set, wins). The
 * tokens come first (the runner hands them to sessions), the endpoint once runner and scheduler exist.
 */
export function createAgentTools(deps: {
  config: Config;
  store: Store;
  telegram: Telegram;
  outbox: Outbox;
  port: () => number;
  logger: Logger;
}): {
  tokens: McpTokens;
  /** The ask_user questions (their buttons are the bot's). */
  questions: QuestionPrompts;
  /** Posts one line in a key's topic (the scheduler's header). */
  announce(key: TopicKey, line: string): Promise<void>;
  endpoint(core: {
    runner: Pick<Runner, "workspaceFor">;
    schedules: ScheduleBook;
  }): (request: Request) => Promise<Response>;
} {
  const { config, telegram, outbox } = deps;
  const host = config.http.host === "0.0.0.0" || config.http.host === "::" ? "127.0.0.1" : config.http.host;
  const tokens = createMcpTokens({
    store: deps.store,
    url: () =>
      config.mcp.url ?? `http://${host.includes(":") ? `[${host}]` : host}:${deps.port()}${config.mcp.path}`,
  });
  const questions = createQuestionPrompts({
    telegram,
    outbox,
    timeoutMs: config.permissions.timeoutMs,
    logger: deps.logger,
  });
  const post = async (key: TopicKey, line: string, label: string) => {
    await postInTopic({ telegram, outbox }, key, line, label);
  };
  const endpoint = (core: { runner: Pick<Runner, "workspaceFor">; schedules: ScheduleBook }) =>
    createMcpEndpoint({
      tokens,
      tools: {
        sendFile: async (key, requested, caption) =>
          sendWorkspaceFile(
            { telegram, outbox },
            { chatId: key.chatId, messageThreadId: messageThreadIdOf(key.threadId) },
            await core.runner.workspaceFor(key),
            requested,
            caption,
          ),
        ask: (key, question, options, signal) => questions.ask(key, question, options, signal),
        notify: (key, text) => post(key, `🔔 ${text}`, "notify"),
        schedules: core.schedules,
      },
      callsPerMinute: config.mcp.callsPerMinute,
      version: "0.1.0",
      logger: deps.logger,
    });
  return { tokens, questions, announce: (key, line) => post(key, line, "schedule header"), endpoint };
}
