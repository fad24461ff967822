import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type ServerType, serve } from "@hono/node-server";
import type { Telegraf } from "telegraf";
import { createAcpClient } from "./acp/acp-client.js";
import { resolveAgentExecutable } from "./acp/agent-command.js";
import { createModelCatalog } from "./acp/model-catalog.js";
import { agentClientOptions } from "./agent-options.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { createSessionStore, type SessionStore } from "./db/session-store.js";
import { createTurnJournal } from "./db/turn-journal.js";
import { createUpdateLog, type UpdateLog } from "./db/update-log.js";
import { createHttpApp } from "./http/server.js";
import type { Logger } from "./logger.js";
import { redactedMessage } from "./redact.js";
import { createRunner, type Runner } from "./runner.js";
import { type BotHandle, createBot } from "./telegram/bot.js";
import { BOT_COMMANDS } from "./telegram/commands.js";
import { templateDirProblem } from "./workspace.js";

/** Thrown by `start()` for a problem the operator must fix; the message is one line. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Update kinds the bot handles (Bot API setWebhook `allowed_updates`). */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/** How often idle sessions are expired when SESSION_TTL_DAYS is set, ms. */
const TTL_SWEEP_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * The composition root: wires config, database (sessions, turn journal, seen updates), ACP client,
 * runner, Telegraf bot and the Hono server. `start()` fails fast (missing agent binary, unusable
 * database, token rejected by getMe), recovers turns a crash interrupted, and resolves with the
 * bound port; `stop()` is the graceful shutdown (503 to new webhook calls, running turns get
 * SHUTDOWN_GRACE_MS, then are interrupted; the database closes cleanly).
 *
 * BOT_MODE=webhook: Telegram POSTs Updates to the Hono route (with PUBLIC_URL, start-up calls
 * setWebhook). BOT_MODE=polling: start-up calls deleteWebhook, then Telegraf long-polls getUpdates
 * into the same handlers; `/healthz` is served in both modes. When polling ends with an error after
 * start-up (Telegram answers 401, or 409 because another instance polls), `deps.onFatal` gets a
 * StartupError with one line.
 */
export function createApp(
  config: Config,
  deps: { env: NodeJS.ProcessEnv; logger: Logger; onFatal?: (err: StartupError) => void },
) {
  const { logger } = deps;
  let server: ServerType | undefined;
  let polling: { bot: Telegraf; done: Promise<void> } | undefined;
  let runner: Runner | undefined;
  let store: SessionStore | undefined;
  let bot: BotHandle | undefined;
  let accepting = false;
  let ttlTimer: NodeJS.Timeout | undefined;
  let updateLog: UpdateLog | undefined;

  return {
    async start(): Promise<{ port: number }> {
      resolveAgentExecutable(config.agent.argv[0], deps.env);
      const template = config.workspaceTemplateDir && templateDirProblem(config.workspaceTemplateDir);
      if (template) throw new StartupError(`WORKSPACE_TEMPLATE_DIR ${template}`);
      const database = openDatabase(config.databasePath);
      store = createSessionStore(database);
      const journal = createTurnJournal(database.db);
      updateLog = createUpdateLog(database);
      const seen = updateLog;
      try {
        fs.mkdirSync(config.workspaceBasePath, { recursive: true, mode: 0o700 });
        fs.accessSync(config.workspaceBasePath, fs.constants.W_OK);
      } catch (err) {
        throw new StartupError(
          `WORKSPACE_BASE_PATH ${config.workspaceBasePath} is not a writable directory: ${(err as Error).message}`,
        );
      }

      const acpClient = createAcpClient(agentClientOptions(config, deps.env, logger));
      const models = createModelCatalog({ acpClient, logger });
      runner = createRunner({
        store,
        journal,
        acpClient,
        workspaceBasePath: config.workspaceBasePath,
        workspaceTemplateDir: config.workspaceTemplateDir,
        permissionMode: config.permissions.mode,
        maxConcurrentTurns: config.turns.maxConcurrent,
        turnTimeoutMs: config.turns.timeoutMs,
        onModels: (offer) => models.remember(offer),
        logger,
      });
      bot = createBot({
        botToken: config.telegram.botToken,
        apiRoot: config.telegram.apiRoot,
        allowedUserIds: config.allowedUserIds,
        runner,
        store,
        models,
        agentCommand: config.agent.argv.join(" "),
        permissionTimeoutMs: config.permissions.timeoutMs,
        streaming: config.streaming,
        inputDebounceMs: config.inputDebounceMs,
        logger,
      });
      const { telegraf } = bot;
      try {
        telegraf.botInfo = await telegraf.telegram.getMe();
      } catch (err) {
        throw new StartupError(
          `Telegram getMe failed (check TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT): ${redact(err, config)}`,
        );
      }
      await telegraf.telegram.setMyCommands(BOT_COMMANDS).catch((err: unknown) => {
        logger.warn({ err }, "setMyCommands failed: Telegram's command menu may be out of date");
      });
      if (config.allowedUserIds.size === 0) {
        logger.warn("ALLOWED_USER_IDS is empty: the bot will answer nobody");
      }
      const expire = () => {
        const removed = store?.expireIdle(config.sessionTtlDays) ?? [];
        if (removed.length > 0) logger.info({ removed: removed.length }, "expired idle sessions");
      };
      if (config.sessionTtlDays > 0) {
        expire();
        ttlTimer = setInterval(expire, TTL_SWEEP_INTERVAL_MS);
        ttlTimer.unref();
      }

      const http = createHttpApp({
        webhookPath: config.http.webhookPath,
        webhookSecret: config.telegram.webhookSecret,
        isAccepting: () => accepting,
        dispatch: async (update) => {
          if (!seen.firstSeen(update.update_id)) {
            logger.info({ update_id: update.update_id }, "update seen before; not processed again");
            return;
          }
          await telegraf.handleUpdate(update);
        },
        logger,
      });
      const port = await new Promise<number>((resolve, reject) => {
        server = serve({ fetch: http.fetch, hostname: config.http.host, port: config.http.port }, (info) =>
          resolve(info.port),
        );
        server.once("error", (err) =>
          reject(
            new StartupError(`cannot listen on ${config.http.host}:${config.http.port}: ${err.message}`),
          ),
        );
      });
      accepting = true;

      // Turns a crash (or the last shutdown) interrupted: tell their topics, with a Retry button.
      await bot.announceInterrupted(journal.recoverInterrupted(), (id) => journal.markInterruptNotified(id));

      if (config.telegram.publicUrl) {
        const url = new URL(config.http.webhookPath, config.telegram.publicUrl).toString();
        try {
          await telegraf.telegram.setWebhook(url, {
            secret_token: config.telegram.webhookSecret,
            allowed_updates: [...ALLOWED_UPDATES],
            max_connections: config.telegram.webhookMaxConnections,
          });
        } catch (err) {
          throw new StartupError(`Telegram setWebhook ${url} failed: ${redact(err, config)}`);
        }
        logger.info({ url }, "webhook registered");
      }
      if (config.telegram.mode === "polling") {
        try {
          await telegraf.telegram.deleteWebhook();
        } catch (err) {
          throw new StartupError(`Telegram deleteWebhook failed (BOT_MODE=polling): ${redact(err, config)}`);
        }
        // launch() calls deleteWebhook again, then resolves only when polling stops.
        const done = telegraf.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((err: unknown) => {
          const fatal = new StartupError(`Telegram long polling stopped: ${redact(err, config)}`);
          logger.fatal({ err }, fatal.message);
          deps.onFatal?.(fatal);
        });
        polling = { bot: telegraf, done };
      }
      logger.info(
        {
          host: config.http.host,
          port,
          mode: config.telegram.mode,
          webhookPath: config.http.webhookPath,
          bot: telegraf.botInfo.username,
        },
        "tg-acp is listening",
      );
      return { port };
    },

    /** Resolves once no turn is running or queued (tests, shutdown). */
    async idle(): Promise<void> {
      await runner?.idle();
    },

    /**
     * Graceful shutdown: new webhook calls get 503, parts of long messages still being joined are
     * submitted, running turns get SHUTDOWN_GRACE_MS and are then interrupted (journalled, offered
     * for retry at the next start), the HTTP server and the database close. Safe after a failed start.
     */
    async stop(): Promise<void> {
      accepting = false;
      clearInterval(ttlTimer);
      const poller = polling;
      polling = undefined;
      if (poller) {
        // bot.stop() throws until launch() has passed its own deleteWebhook and begun polling.
        for (;;) {
          try {
            poller.bot.stop("shutdown");
            break;
          } catch {
            const ended = await Promise.race([poller.done.then(() => true), sleep(20).then(() => false)]);
            if (ended) break;
          }
        }
        await poller.done;
      }
      bot?.flushInput();
      await runner?.shutdown(config.turns.shutdownGraceMs);
      const closing = server;
      server = undefined;
      if (closing) {
        await new Promise<void>((resolve) => {
          closing.close(() => resolve());
          if ("closeAllConnections" in closing) closing.closeAllConnections();
        });
      }
      updateLog?.flush();
      updateLog = undefined;
      store?.close();
      store = undefined;
    },
  };
}

/** An error's message with the bot token and webhook secret removed (network errors carry the URL). */
function redact(err: unknown, config: Config): string {
  return redactedMessage(err, [config.telegram.botToken, config.telegram.webhookSecret]);
}
