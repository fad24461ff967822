import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type ServerType, serve } from "@hono/node-server";
import type { Telegraf } from "telegraf";
import { createAcpClient } from "./acp/acp-client.js";
import { resolveAgentExecutable } from "./acp/agent-command.js";
import { agentClientOptions } from "./agent-options.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { createSessionStore, type SessionStore } from "./db/session-store.js";
import { createHttpApp } from "./http/server.js";
import type { Logger } from "./logger.js";
import { redactedMessage } from "./redact.js";
import { createRunner, type Runner } from "./runner.js";
import { createBot } from "./telegram/bot.js";
import { templateDirProblem } from "./workspace.js";

/** Thrown by `start()` for a problem the operator must fix; the message is one line. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Update kinds the bot handles (Bot API setWebhook `allowed_updates`). */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/**
 * The composition root: wires config, database, session store, ACP client, runner, Telegraf bot and
 * the Hono server. `start()` fails fast (missing agent binary, unusable database, token rejected by
 * getMe) and resolves with the bound port; `stop()` stops accepting updates, waits for running and
 * queued turns, and closes the database.
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

  return {
    async start(): Promise<{ port: number }> {
      resolveAgentExecutable(config.agent.argv[0], deps.env);
      const template = config.workspaceTemplateDir && templateDirProblem(config.workspaceTemplateDir);
      if (template) throw new StartupError(`WORKSPACE_TEMPLATE_DIR ${template}`);
      store = createSessionStore(openDatabase(config.databasePath));
      try {
        fs.mkdirSync(config.workspaceBasePath, { recursive: true, mode: 0o700 });
        fs.accessSync(config.workspaceBasePath, fs.constants.W_OK);
      } catch (err) {
        throw new StartupError(
          `WORKSPACE_BASE_PATH ${config.workspaceBasePath} is not a writable directory: ${(err as Error).message}`,
        );
      }

      const acpClient = createAcpClient(agentClientOptions(config, deps.env, logger));
      runner = createRunner({
        store,
        acpClient,
        workspaceBasePath: config.workspaceBasePath,
        workspaceTemplateDir: config.workspaceTemplateDir,
        logger,
      });
      const bot = createBot({
        botToken: config.telegram.botToken,
        apiRoot: config.telegram.apiRoot,
        allowedUserIds: config.allowedUserIds,
        runner,
        logger,
      });
      try {
        bot.botInfo = await bot.telegram.getMe();
      } catch (err) {
        throw new StartupError(
          `Telegram getMe failed (check TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT): ${redact(err, config)}`,
        );
      }
      if (config.allowedUserIds.size === 0) {
        logger.warn("ALLOWED_USER_IDS is empty: the bot will answer nobody");
      }

      const http = createHttpApp({
        webhookPath: config.http.webhookPath,
        webhookSecret: config.telegram.webhookSecret,
        dispatch: (update) => bot.handleUpdate(update),
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

      if (config.telegram.publicUrl) {
        const url = new URL(config.http.webhookPath, config.telegram.publicUrl).toString();
        try {
          await bot.telegram.setWebhook(url, {
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
          await bot.telegram.deleteWebhook();
        } catch (err) {
          throw new StartupError(`Telegram deleteWebhook failed (BOT_MODE=polling): ${redact(err, config)}`);
        }
        // launch() calls deleteWebhook again, then resolves only when polling stops.
        const done = bot.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((err: unknown) => {
          const fatal = new StartupError(`Telegram long polling stopped: ${redact(err, config)}`);
          logger.fatal({ err }, fatal.message);
          deps.onFatal?.(fatal);
        });
        polling = { bot, done };
      }
      logger.info(
        {
          host: config.http.host,
          port,
          mode: config.telegram.mode,
          webhookPath: config.http.webhookPath,
          bot: bot.botInfo.username,
        },
        "tg-acp is listening",
      );
      return { port };
    },

    /**
     * Stops polling and the HTTP server, waits for all turns, closes the database. Safe to call after
     * a failed start.
     */
    async stop(): Promise<void> {
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
      const closing = server;
      server = undefined;
      if (closing) {
        await new Promise<void>((resolve) => {
          closing.close(() => resolve());
          if ("closeIdleConnections" in closing) closing.closeIdleConnections();
        });
      }
      await runner?.idle();
      store?.close();
      store = undefined;
    },
  };
}

/** An error's message with the bot token and webhook secret removed (network errors carry the URL). */
function redact(err: unknown, config: Config): string {
  return redactedMessage(err, [config.telegram.botToken, config.telegram.webhookSecret]);
}
