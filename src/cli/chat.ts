/**
 * `npm run chat -- --chat-id 1 --thread-id 1 --user-id 1 "text"`: one turn through the bot's session
 * store and agent, without Telegram; the answer streams to stdout. Reads the bot's settings
 * (environment, then .env); the Telegram variables are not needed. Exit code 0, 1 when the turn
 * failed, 2 on bad arguments.
 */
import { parseArgs } from "node:util";
import { configSecrets } from "../config.js";
import { createLogger } from "../logger.js";
import { chatTurn } from "./chat-turn.js";
import { createOfflineConfig, integerArg, joinNegativeIds } from "./offline-config.js";
import { runCli } from "./run-cli.js";

const USAGE = 'usage: chat --chat-id N [--thread-id N] --user-id N "text"';

await runCli("tg-acp chat", async (env, cwd) => {
  let key: { chatId: number; threadId: number; userId: number };
  let text: string;
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeIds(process.argv.slice(2), ["--chat-id", "--thread-id", "--user-id"]),
      allowPositionals: true,
      options: {
        "chat-id": { type: "string" },
        "thread-id": { type: "string", default: "0" },
        "user-id": { type: "string" },
      },
    });
    key = {
      chatId: integerArg("--chat-id", values["chat-id"]),
      threadId: integerArg("--thread-id", values["thread-id"]),
      userId: integerArg("--user-id", values["user-id"]),
    };
    text = positionals.join(" ").trim();
    if (text === "") throw new Error("the text to send is missing");
  } catch (err) {
    process.stderr.write(`tg-acp chat: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const config = createOfflineConfig(env, cwd);
  // Notices already tell what went wrong in one line: logs only when LOG_LEVEL asks, readable, to stderr.
  const logger = createLogger({
    level: env.LOG_LEVEL ? config.logLevel : "silent",
    secrets: configSecrets(config),
    format: "pretty",
    colorize: process.stderr.isTTY === true,
    destination: process.stderr,
  });
  const { ok } = await chatTurn({
    config,
    env,
    cwd,
    logger,
    key,
    text,
    streams: { out: process.stdout, err: process.stderr },
  });
  return ok ? 0 : 1;
});
