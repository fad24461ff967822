import { type AcpClient, createAcpClient } from "./acp/acp-client.js";
import { agentClientOptions } from "./agent-options.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { createSessionStore, type TopicKey } from "./db/session-store.js";
import type { Logger } from "./logger.js";
import { createRunner, type TurnOutput } from "./runner.js";

/** Where {@link chatTurn} writes: the answer to `out`, notices to `err` (both take text). */
export type ChatStreams = { out: { write(text: string): unknown }; err: { write(text: string): unknown } };

/**
 * One turn for `key` without Telegram (`npm run chat`): the same session store (DATABASE_PATH),
 * workspace and runner as the bot, so a later turn of the bot or of `chat` on the same key continues
 * the conversation. The answer is streamed to `streams.out` as the agent's agent_message_chunk text
 * arrives (ACP "Prompt Turn"), ending with a newline; notices (context not restored, tool refused,
 * failure) go to `streams.err`, one line each.
 *
 * @returns ok: false when the turn failed (the reason was written to `streams.err`).
 * @throws DatabaseOpenError when the database cannot be opened.
 */
export async function chatTurn(options: {
  config: Config;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  key: TopicKey;
  text: string;
  streams: ChatStreams;
}): Promise<{ ok: boolean }> {
  const { config, logger, streams } = options;
  const store = createSessionStore(openDatabase(config.databasePath));
  try {
    const acpClient = createAcpClient(agentClientOptions(config, options.env, logger));
    let streamed = "";
    let failed = false;
    // The runner only posts whole answers; this wrapper streams the chunks as they come.
    const streaming: AcpClient = {
      runTurn: (request, callbacks) =>
        acpClient
          .runTurn(request, {
            ...callbacks,
            onText: (text) => {
              streamed += text;
              streams.out.write(text);
              callbacks.onText?.(text);
            },
          })
          .catch((err: unknown) => {
            failed = true;
            throw err;
          }),
    };
    const output: TurnOutput = {
      typing: async () => {},
      notice: async (line) => {
        streams.err.write(`${line}\n`);
      },
      // The answer text is what was streamed, trimmed, plus a stop-reason note: print only what is new.
      answer: async (text) => {
        const shown = streamed.trim();
        streams.out.write(`${text.startsWith(shown) ? text.slice(shown.length) : ""}\n`);
      },
    };
    const runner = createRunner({
      store,
      acpClient: streaming,
      workspaceBasePath: config.workspaceBasePath,
      workspaceTemplateDir: config.workspaceTemplateDir,
      logger,
    });
    await runner.enqueue({ key: options.key, prompt: [{ type: "text", text: options.text }], output });
    return { ok: !failed };
  } finally {
    store.close();
  }
}
