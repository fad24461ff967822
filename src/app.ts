import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type AcpClient, createAcpClient } from "./acp/acp-client.js";
import { resolveAgentExecutable } from "./acp/agent-command.js";
import type { AgentProcess } from "./acp/agent-process.js";
import { endLeftoverAgents, endThisBootsAgents } from "./acp/leftover-agents.js";
import { createModelCatalog } from "./acp/model-catalog.js";
import { agentMarkers } from "./acp/process-sweep.js";
import { agentClientOptions } from "./agent-options.js";
import { createAgentTools } from "./agent-tools.js";
import { type Config, configSecrets } from "./config.js";
import { openPgStore } from "./db/pg/pg-store.js";
import { openSqliteStore } from "./db/sqlite-store.js";
import { StoreUnavailableError } from "./domain/errors.js";
import type { Store } from "./domain/store.js";
import { type Listening, listen } from "./http/listen.js";
import { createHttpApp } from "./http/server.js";
import type { Logger } from "./logger.js";
import { StartupError } from "./operator-error.js";
import { redactedMessage } from "./redact.js";
import { createLocalTurnQueue } from "./runner/local-turn-queue.js";
import { createRunner, type RunnerHandle } from "./runner/runner.js";
import { createScheduler, type Scheduler } from "./runner/scheduler.js";
import { startSessionExpiry } from "./runner/session-expiry.js";
import { createFileFetcher } from "./telegram/attachments.js";
import { createTelegraf, registerBot } from "./telegram/bot.js";
import { BOT_COMMANDS } from "./telegram/commands.js";
import { announceCutAnswers, announceInterrupted } from "./telegram/interrupted.js";
import { createOutbox } from "./telegram/outbox.js";
import { createPermissionPrompts } from "./telegram/permission-prompts.js";
import { createTurnViews } from "./telegram/turn-views.js";
import { createUpdateDispatch, createUpdateSource } from "./telegram/update-source.js";
import { createTranscriber } from "./transcription/openai-transcriber.js";
import { templateDirProblem } from "./workspace.js";

/** What the composition root gets from its caller (main.ts, or a test). */
export type AppDeps = {
  env: NodeJS.ProcessEnv;
  /** The working directory relative agent commands resolve against. */
  cwd: string;
  logger: Logger;
  /** Told when the bot cannot go on after start-up (polling refused); the message is one line. */
  onFatal?: (err: StartupError) => void;
  /** Starts the agent in a directory instead of spawning ACP_AGENT_COMMAND (tests run agents in-process). */
  launchAgent?: (cwd: string) => AgentProcess;
};

/**
 * The composition root: wires config, the store (sessions, turn journal, seen updates), the ACP
 * client, the turn queue and runner, the Telegraf bot with its outbox and views, the update source
 * and the Hono server. `start()` fails fast (missing agent binary, unusable database, token rejected
 * by getMe), recovers turns a crash interrupted, and resolves with the bound port; `stop()` is the
 * graceful shutdown (503 to new webhook calls, running turns get SHUTDOWN_GRACE_MS, then are
 * interrupted; the database closes cleanly). `/healthz` is served in both BOT_MODEs.
 */
export function createApp(config: Config, deps: AppDeps) {
  const { logger } = deps;
  let store: Store | undefined;
  let runner: RunnerHandle | undefined;
  let bot: { flushInput(): void } | undefined;
  let source: ReturnType<typeof createUpdateSource> | undefined;
  let server: Listening | undefined;
  let scheduler: Scheduler | undefined;
  let stopExpiry = () => {};
  // Every agent process carries <instance>:<boot>:<n> in TG_ACP_AGENT: the instance is this bot's
  // database, so two bots on one machine never end each other's agents.
  const markers = agentMarkers(
    createHash("sha256")
      .update(config.databaseUrl ? `pg:${config.cluster.workerId}` : config.databasePath)
      .digest("hex")
      .slice(0, 12),
    randomBytes(4).toString("hex"),
  );
  let agents: AcpClient | undefined;
  let accepting = false;

  return {
    async start(): Promise<{ port: number }> {
      resolveAgentExecutable(config.agent.argv[0], deps.env, deps.cwd);
      const template = config.workspaceTemplateDir && templateDirProblem(config.workspaceTemplateDir);
      if (template) throw new StartupError(`WORKSPACE_TEMPLATE_DIR ${template}`);
      if (config.cluster.role !== "all") {
        throw new StartupError(`ROLE=${config.cluster.role} is not wired into the bot yet: use ROLE=all`);
      }
      // DATABASE_URL: the Postgres store (one process, in-process queue, until the roles are wired).
      const opened = config.databaseUrl
        ? await openPgStore(config.databaseUrl, {
            applicationName: "tg-acp",
            onPoolError: (err) => logger.warn({ err }, "a PostgreSQL connection was lost"),
            logger,
          })
        : openSqliteStore(config.databasePath, { logger });
      store = opened;
      try {
        fs.mkdirSync(config.workspaceBasePath, { recursive: true, mode: 0o700 });
        fs.accessSync(config.workspaceBasePath, fs.constants.W_OK);
      } catch (err) {
        throw new StartupError(
          `WORKSPACE_BASE_PATH ${config.workspaceBasePath} is not a writable directory: ${(err as Error).message}`,
        );
      }

      const telegraf = createTelegraf({
        botToken: config.telegram.botToken,
        apiRoot: config.telegram.apiRoot,
      });
      const { telegram } = telegraf;
      const outbox = createOutbox({
        groupPerMinute: config.streaming.groupPerMinute,
        privatePerMinute: config.streaming.privatePerMinute,
        retries: config.streaming.retries,
        minIntervalMs: config.streaming.chatMinIntervalMs,
        logger,
      });
      const prompts = createPermissionPrompts({
        telegram,
        outbox,
        timeoutMs: config.permissions.timeoutMs,
        logger,
      });
      const agentTools = createAgentTools({
        config,
        store: opened,
        telegram,
        outbox,
        port: () => server?.port ?? config.http.port,
        logger,
      });
      const neutralCwd = path.join(config.workspaceBasePath, ".spares");
      fs.mkdirSync(neutralCwd, { recursive: true, mode: 0o700 });
      const acpClient = createAcpClient({
        ...agentClientOptions(config, deps.env, logger),
        markers,
        ...(deps.launchAgent ? { launch: deps.launchAgent } : {}),
        pool: {
          spares: config.agent.warmSpares,
          spareMaxAgeMs: config.agent.spareMaxAgeMs,
          neutralCwd,
          keepAliveMs: config.agent.keepAliveMs,
          maxProcesses: config.turns.maxConcurrent,
          retryDelayMs: config.agent.spareRetryMs,
        },
      });
      agents = acpClient;
      runner = createRunner({
        store: opened,
        queue: createLocalTurnQueue({ concurrency: config.turns.maxConcurrent, logger }),
        acpClient,
        models: createModelCatalog({ acpClient, logger }),
        views: createTurnViews({ telegram, outbox, prompts, streaming: config.streaming, logger }),
        fetchFile: createFileFetcher(telegram),
        ...(config.transcription
          ? { transcribe: createTranscriber({ ...config.transcription, logger }) }
          : {}),
        workspaceBasePath: config.workspaceBasePath,
        workspaceTemplateDir: config.workspaceTemplateDir,
        permissionMode: config.permissions.mode,
        turnTimeoutMs: config.turns.timeoutMs,
        stopTailMs: config.agent.stopGraceMs * 2 + 1_000,
        mcp: { access: agentTools.tokens, revokeAfterTurn: config.agent.keepAliveMs === 0 },
        logger,
      });
      scheduler = createScheduler({
        ...config.schedules,
        store: opened,
        accept: (job) => (runner as RunnerHandle).accept(job),
        announce: agentTools.announce,
        allowed: (userId) => config.allowedUserIds.has(userId),
        logger,
      });
      bot = registerBot(telegraf, {
        runner,
        outbox,
        prompts,
        questions: agentTools.questions,
        schedules: scheduler,
        allowedUserIds: config.allowedUserIds,
        agentCommand: config.agent.argv.join(" "),
        inputDebounceMs: config.inputDebounceMs,
        logger,
      });
      try {
        telegraf.botInfo = await telegram.getMe();
      } catch (err) {
        throw new StartupError(
          `Telegram getMe failed (check TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT): ${redactedMessage(err, configSecrets(config))}`,
        );
      }
      await telegram.setMyCommands(BOT_COMMANDS).catch((err: unknown) => {
        logger.warn({ err }, "setMyCommands failed: Telegram's command menu may be out of date");
      });
      if (config.allowedUserIds.size === 0)
        logger.warn("ALLOWED_USER_IDS is empty: the bot will answer nobody");
      stopExpiry = await startSessionExpiry(opened, config.sessionTtlDays, logger).catch((err: unknown) => {
        if (!(err instanceof StoreUnavailableError)) throw err;
        logger.warn({ err }, "idle sessions not expired at start-up: the database cannot be written");
        return () => {};
      });

      const http = createHttpApp({
        webhookPath: config.http.webhookPath,
        webhookSecret: config.telegram.webhookSecret,
        isAccepting: () => accepting,
        health: () => opened.health(),
        dispatch: createUpdateDispatch({ telegraf, store: opened, logger }),
        mount: { path: config.mcp.path, handle: agentTools.endpoint({ runner, schedules: scheduler }) },
        logger,
      });
      // No agent of an earlier run is alive: its sessions' MCP tokens are void.
      await opened
        .revokeMcpTokens()
        .catch((err: unknown) => logger.warn({ err }, "MCP tokens of the last run not revoked"));
      server = await listen(http, config.http.host, config.http.port);
      accepting = true;
      acpClient.warmUp();

      // What a crash of the last run left running: its recorded agent groups, marked processes.
      await endLeftoverAgents(
        await opened.recordedAgents().catch(() => []),
        markers,
        config.agent.stopGraceMs,
        logger,
      );
      // Turns a crash (or the last shutdown) interrupted: tell their topics, with a Retry button. On
      // a database that cannot be written (disk full) the bot still starts, answering 503, and does
      // this once it can write again.
      const recover = async () => {
        await announceInterrupted({ telegram, outbox, logger }, await opened.recoverInterrupted(), (id) =>
          opened.markInterruptNotified(id),
        );
        await announceCutAnswers({ telegram, outbox, logger }, await opened.cutAnswers(), (id) =>
          opened.markDelivery(id, "offered"),
        );
      };
      await recover().catch((err: unknown) => {
        if (!(err instanceof StoreUnavailableError)) throw err;
        const stopWaiting = opened.onHealthChange((health) => {
          if (!health.ok) return;
          stopWaiting();
          recover().catch((later: unknown) =>
            logger.error({ err: later }, "could not recover interrupted turns"),
          );
        });
      });
      source = createUpdateSource({
        telegraf,
        config,
        logger,
        ...(deps.onFatal ? { onFatal: deps.onFatal } : {}),
      });
      await source.start();
      // Schedules that came due while the bot was down run once now, with a note.
      await scheduler.start();
      logger.info(
        {
          host: config.http.host,
          port: server.port,
          mode: config.telegram.mode,
          webhookPath: config.http.webhookPath,
          bot: telegraf.botInfo.username,
        },
        "tg-acp is listening",
      );
      return { port: server.port };
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
      scheduler?.stop();
      stopExpiry();
      await source?.stop();
      source = undefined;
      bot?.flushInput();
      // Spares and kept-alive processes first: they serve no turn.
      await agents?.close();
      await runner?.shutdown(config.turns.shutdownGraceMs);
      const killed = agents?.killAll() ?? 0;
      if (killed > 0) logger.warn({ killed }, "agent processes still alive after the shutdown: killed");
      agents = undefined;
      // Children of this run's agents that left their process groups.
      await endThisBootsAgents(markers, config.agent.stopGraceMs);
      await server?.close();
      server = undefined;
      await store?.close();
      store = undefined;
    },
  };
}
