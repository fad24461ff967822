import type { Telegram } from "telegraf";
import type { Config } from "./config.js";
import type { Store } from "./domain/store.js";
import { messageThreadIdOf, type TopicKey } from "./domain/topic-key.js";
import type { Logger } from "./logger.js";
import { createMcpEndpoint } from "./mcp/mcp-endpoint.js";
import { createMcpTokens } from "./mcp/mcp-tokens.js";
import { createScheduler } from "./runner/scheduler.js";
import type { McpAccess, Runner, ScheduleBook } from "./runner/types.js";
import { sendWorkspaceFile } from "./telegram/file-sender.js";
import type { Outbox } from "./telegram/outbox.js";
import { createQuestionPrompts, type QuestionPrompts } from "./telegram/question-prompts.js";
import { postInTopic } from "./telegram/topic-post.js";

/**
 * Wires the bot's tools for its agents and its scheduled prompts (part of the composition root):
 * the MCP session tokens on the store, the tools done by the Telegram side (files, ask_user questions
 * with their buttons, PERMISSION_TIMEOUT_MS bounding one; notices) and the scheduler. `port()` is the
 * bound HTTP port, read when a token is handed out (MCP_URL, when set, wins). The tokens come first
 * (the runner hands them to sessions); `attach(runner)` makes the scheduler and the MCP endpoint.
 */
export function createAgentTools(deps: {
  config: Config;
  store: Store;
  telegram: Telegram;
  outbox: Outbox;
  port: () => number;
  logger: Logger;
}): {
  /** The tokens, as the runner hands them to sessions (revoked after each turn without keep-alive). */
  mcp: { access: McpAccess; revokeAfterTurn: boolean };
  /** The ask_user questions (their buttons are the bot's). */
  questions: QuestionPrompts;
  attach(runner: Pick<Runner, "accept" | "workspaceFor">): {
    schedules: ScheduleBook;
    /** The MCP endpoint the HTTP server mounts at MCP_PATH. */
    handle: (request: Request) => Promise<Response>;
    /**
     * Start-up: with `alone` (ROLE=all: no agent of an earlier run is alive) revokes every token
     * left in the store; with `clock` fires due schedules and keeps their timer.
     */
    start(options: { alone: boolean; clock: boolean }): Promise<void>;
    stop(): void;
  };
} {
  const { config, telegram, outbox, logger } = deps;
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
    logger,
  });
  const post = async (key: TopicKey, line: string, label: string) => {
    await postInTopic({ telegram, outbox }, key, line, label);
  };
  const attach = (runner: Pick<Runner, "accept" | "workspaceFor">) => {
    const scheduler = createScheduler({
      ...config.schedules,
      store: deps.store,
      accept: (job) => runner.accept(job),
      announce: (key, line) => post(key, line, "schedule header"),
      allowed: (userId) => config.allowedUserIds.has(userId),
      logger,
    });
    const handle = createMcpEndpoint({
      tokens,
      tools: {
        sendFile: async (key, requested, caption) =>
          sendWorkspaceFile(
            { telegram, outbox },
            { chatId: key.chatId, messageThreadId: messageThreadIdOf(key.threadId) },
            await runner.workspaceFor(key),
            requested,
            caption,
          ),
        ask: (key, question, options, signal) => questions.ask(key, question, options, signal),
        notify: (key, text) => post(key, `🔔 ${text}`, "notify"),
        schedules: scheduler,
      },
      callsPerMinute: config.mcp.callsPerMinute,
      version: "0.1.0",
      logger,
    });
    return {
      schedules: scheduler,
      handle,
      async start(options: { alone: boolean; clock: boolean }) {
        if (options.alone) {
          await deps.store
            .revokeMcpTokens()
            .catch((err: unknown) => logger.warn({ err }, "MCP tokens of the last run not revoked"));
        }
        // Schedules that came due while the bot was down run once now, with a note.
        if (options.clock) await scheduler.start();
      },
      stop: () => scheduler.stop(),
    };
  };
  return { mcp: { access: tokens, revokeAfterTurn: config.agent.keepAliveMs === 0 }, questions, attach };
}
