/**
 * A server for the benchmarks, run as a child process (so the load generator has its own core) with an
 * IPC channel: `tsx scripts/bench/serve.ts <target>`, after `npm run build` (the bot's code comes from
 * dist/). Sends `{ port }` once listening; answers `"stats"` with `{ rss, enqueued }`; `"stop"` stops it.
 *
 * Targets:
 * - `bare`: a bare Hono app on @hono/node-server whose POST route reads the body and answers 200.
 * - `stub-runner`: the bot's real webhook path (Hono route with the secret check, Telegraf handlers,
 *   the SQLite store's update-id log and health, allowlist, topic keys, logging at info to /dev/null;
 *   answered once the Update is taken in) in front of a
 *   runner STUBBED FOR THE BENCH ONLY, which counts turns instead of spawning agents.
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import pino from "pino";
import type { UserFromGetMe } from "telegraf/types";
import type { Runner, ScheduleBook } from "../../src/runner/types.js";
import { fromDist } from "./dist.js";
import { BENCH_SETTINGS } from "./settings.js";

const { createConfig } = await fromDist<typeof import("../../src/config.js")>("config.js");
const { createHttpApp } = await fromDist<typeof import("../../src/http/server.js")>("http/server.js");
const { createLogger } = await fromDist<typeof import("../../src/logger.js")>("logger.js");
const { createTelegraf, registerBot } =
  await fromDist<typeof import("../../src/telegram/bot.js")>("telegram/bot.js");
const { createOutbox } = await fromDist<typeof import("../../src/telegram/outbox.js")>("telegram/outbox.js");
const { createPermissionPrompts } = await fromDist<typeof import("../../src/telegram/permission-prompts.js")>(
  "telegram/permission-prompts.js",
);
const { createQuestionPrompts } = await fromDist<typeof import("../../src/telegram/question-prompts.js")>(
  "telegram/question-prompts.js",
);
const { createUpdateDispatch } =
  await fromDist<typeof import("../../src/telegram/update-source.js")>("telegram/update-source.js");
const { openSqliteStore } =
  await fromDist<typeof import("../../src/db/sqlite-store.js")>("db/sqlite-store.js");
const target = process.argv[2];
let enqueued = 0;
let stop: () => Promise<void>;
let port: number;

const listen = (fetch: (request: Request) => Response | Promise<Response>) =>
  new Promise<{ server: ServerType; port: number }>((resolve) => {
    const server = serve({ fetch, hostname: "127.0.0.1", port: 0 }, (info) =>
      resolve({ server, port: info.port }),
    );
  });
const closer = (server: ServerType) => () => new Promise<void>((resolve) => server.close(() => resolve()));

if (target === "bare") {
  const config = createConfig(BENCH_SETTINGS, process.cwd());
  const hono = new Hono();
  hono.post(config.http.webhookPath, async (c) => {
    await c.req.text();
    return c.body(null, 200);
  });
  const listening = await listen(hono.fetch);
  port = listening.port;
  stop = closer(listening.server);
} else if (target === "stub-runner") {
  const config = createConfig(BENCH_SETTINGS, process.cwd());
  const logger = createLogger({
    level: config.logLevel,
    secrets: [config.telegram.botToken, config.telegram.webhookSecret],
    destination: pino.destination({ dest: "/dev/null", sync: false }),
  });
  // Only accept is reached by text messages; the rest of the runner serves commands, which the load
  // does not send.
  const runner = {
    accept: async () => {
      enqueued += 1;
      return { done: Promise.resolve() };
    },
  } as unknown as Runner;
  const telegraf = createTelegraf({ botToken: config.telegram.botToken, apiRoot: config.telegram.apiRoot });
  const outbox = createOutbox({ groupPerMinute: 20, privatePerMinute: 60, logger });
  registerBot(telegraf, {
    runner,
    outbox,
    prompts: createPermissionPrompts({ telegram: telegraf.telegram, outbox, timeoutMs: 60_000, logger }),
    questions: createQuestionPrompts({ telegram: telegraf.telegram, outbox, timeoutMs: 60_000, logger }),
    schedules: {} as ScheduleBook,
    allowedUserIds: config.allowedUserIds,
    agentCommand: "bench",
    inputDebounceMs: config.inputDebounceMs,
    logger,
  });
  telegraf.botInfo = {
    id: 7000000001,
    is_bot: true,
    first_name: "Bench",
    username: "bench_bot",
  } as UserFromGetMe;
  // The real dispatch path: the update-id log (SQLite) first, then Telegraf.
  const benchDir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-bench-serve-"));
  const store = openSqliteStore(path.join(benchDir, "bench.db"));
  const http = createHttpApp({
    webhookPath: config.http.webhookPath,
    webhookSecret: config.telegram.webhookSecret,
    health: () => store.health(),
    dispatch: createUpdateDispatch({
      telegraf,
      store,
      logger,
    }),
    logger,
  });
  const listening = await listen(http.fetch);
  port = listening.port;
  stop = closer(listening.server);
} else {
  process.stderr.write("usage: serve.ts bare|stub-runner\n");
  process.exit(2);
}

process.on("message", (message) => {
  if (message === "stats") process.send?.({ rss: process.memoryUsage().rss, enqueued });
  if (message === "stop") void stop().then(() => process.exit(0));
});
process.on("disconnect", () => void stop().then(() => process.exit(0)));
process.send?.({ port });
