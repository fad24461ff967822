import { createAcpClient } from "../acp/acp-client.js";
import { createModelCatalog } from "../acp/model-catalog.js";
import { agentClientOptions } from "../agent-options.js";
import type { Config } from "../config.js";
import { openSqliteStore } from "../db/sqlite-store.js";
import { rejectResponse, toolLabel } from "../domain/permission.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import { createLocalTurnQueue } from "../runner/local-turn-queue.js";
import { createRunner } from "../runner/runner.js";
import type { TurnView } from "../runner/types.js";

/** Where {@link chatTurn} writes: the answer to `out`, notices to `err` (both take text). */
export type ChatStreams = { out: { write(text: string): unknown }; err: { write(text: string): unknown } };

/**
 * One turn for `key` without Telegram (`npm run chat`): the same store (DATABASE_PATH), workspace and
 * runner as the bot, so a later turn of the bot or of `chat` on the same key continues the
 * conversation. The answer is streamed to `streams.out` as the agent's agent_message_chunk text
 * arrives (ACP "Prompt Turn"), ending with a newline; notices (context not restored, tool refused,
 * failure) go to `streams.err`, one line each. Permission requests follow PERMISSION_MODE; under
 * `ask` they are refused, as there is no one to ask. The turn is journalled like the bot's.
 *
 * @returns ok: false when the turn failed (the reason was written to `streams.err`).
 * @throws DatabaseOpenError when the database cannot be opened.
 */
export async function chatTurn(options: {
  config: Config;
  env: NodeJS.ProcessEnv;
  cwd: string;
  logger: Logger;
  key: TopicKey;
  text: string;
  streams: ChatStreams;
}): Promise<{ ok: boolean }> {
  const { config, logger, streams } = options;
  const store = openSqliteStore(config.databasePath);
  try {
    let failed = false;
    const view: TurnView = {
      start: () => {},
      update: (update) => {
        if (update.sessionUpdate === "agent_message_chunk" && update.content.type === "text") {
          streams.out.write(update.content.text);
        }
      },
      notice: async (line) => {
        streams.err.write(`${line}\n`);
      },
      // No one to ask here: refuse with the agent's reject option, and say which tool.
      askPermission: async (request) => {
        streams.err.write(
          `🚫 Refused ${toolLabel(request)}: chat cannot ask for permission (set PERMISSION_MODE).\n`,
        );
        return rejectResponse(request);
      },
      stopDelivery: () => {},
      abandon: () => false,
      finish: async (outcome) => {
        if (outcome.kind === "answered") {
          const note =
            outcome.result.stopReason === "end_turn" ? "" : `\n(Stopped: ${outcome.result.stopReason}.)`;
          streams.out.write(`${note}\n`);
          return;
        }
        failed = true;
        streams.err.write(
          `${outcome.kind === "failed" ? `⚠️ The agent could not answer: ${outcome.reason}.` : `⏹ ${outcome.kind}.`}\n`,
        );
      },
    };
    const acpClient = createAcpClient(agentClientOptions(config, options.env, logger));
    const runner = createRunner({
      store,
      queue: createLocalTurnQueue({ concurrency: 1, logger }),
      acpClient,
      models: createModelCatalog({ acpClient, logger }),
      views: () => view,
      workspaceBasePath: config.workspaceBasePath,
      workspaceTemplateDir: config.workspaceTemplateDir,
      permissionMode: config.permissions.mode,
      turnTimeoutMs: config.turns.timeoutMs,
      logger,
    });
    await runner.submit({ key: options.key, prompt: [{ type: "text", text: options.text }] });
    return { ok: !failed };
  } finally {
    await store.close();
  }
}
