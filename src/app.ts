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
import { recoverAtStart, startExpiry, tellInterrupted } from "./app-recovery.js";
import { openAppStore } from "./app-storage.js";
import type { ControlServer } from "./cluster/control-bus.js";
import type { ClusterParts } from "./cluster-parts.js";
import { type Config, configSecrets } from "./config.js";
import type { Store } from "./domain/store.js";
import { type Listening, listen } from "./http/listen.js";
import { createHttpApp } from "./http/server.js";
import type { Logger } from "./logger.js";
import { StartupError } from "./operator-error.js";
import { redactedMessage } from "./redact.js";
import { createLocalTurnQueue } from "./runner/local-turn-queue.js";
import { createRunner, type RunnerHandle } from "./runner/runner.js";
import { createFileFetcher } from "./telegram/attachments.js";
import { createTelegraf, registerBot } from "./telegram/bot.js";
import { BOT_COMMANDS } from "./telegram/commands.js";
import { createOutbox } from "./telegram/outbox.js";
import { createPermissionPrompts } from "./telegram/permission-prompts.js";
import { createTurnViews } from "./telegram/turn-views.js";
import { createUpdateDispatch, createUpdateSource } from "./telegram/update-source.js";
import { createTranscriber } from "./transcription/openai-transcriber.js";
import { remoteTurnControl, serveTurnControl } from "./turn-control.js";
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
 * ROLE (Postgres mode, see cluster-parts.ts): `web` takes Updates and runs the commands but starts no
 * agent (turns go to pg-boss, commands on running turns to their worker over the control bus);
 * `worker` serves only /healthz and runs the turns of the shards it holds; `all` is one process.
 */
export function createApp(config: Config, deps: AppDeps) {
  const { logger } = deps;
  let store: Store | undefined;
  let runner: RunnerHandle | undefined;
  let bot: { flushInput(): void } | undefined;
  let source: ReturnType<typeof createUpdateSource> | undefined;
  let server: Listening | undefined;
  let stopExpiry = () => {};
  let stopTools = () => {};
  let cluster: ClusterParts | undefined;
  let pollingLock: { release(): Promise<void> } | undefined;
  const { role } = config.cluster;
  const runsTurns = role !== "web";
  const takesUpdates = role !== "worker";
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
      if (runsTurns) resolveAgentExecutable(config.agent.argv[0], deps.env, deps.cwd);
      const template = config.workspaceTemplateDir && templateDirProblem(config.workspaceTemplateDir);
      if (template) throw new StartupError(`WORKSPACE_TEMPLATE_DIR ${template}`);
      // A worker answers the control requests once its runner exists.
      let serveControl: ControlServer | undefined;
      if (role !== "all") {
        // Loaded only here: the embedded mode never loads pg-boss.
        cluster = await (await import("./cluster-parts.js")).openCluster(config, {
          ...(role === "worker"
            ? { serve: (kind, body) => serveControl?.(kind, body) ?? Promise.resolve(undefined) }
            : {}),
          logger,
        });
      }
      const control = role === "web" && cluster ? remoteTurnControl(cluster.bus) : undefined;
      const opened = await openAppStore(config, cluster?.store, logger);
      store = opened;

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
        ...(control ? { relay: control.tap } : {}),
        logger,
      });
      const port = () => server?.port ?? config.http.port;
      const tools = createAgentTools({ config, store: opened, telegram, outbox, port, logger });
      const neutralCwd = path.join(config.workspaceBasePath, ".spares");
      if (runsTurns) fs.mkdirSync(neutralCwd, { recursive: true, mode: 0o700 });
      const acpClient = runsTurns
        ? createAcpClient({
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
          })
        : undefined;
      agents = acpClient;
      const queue = cluster?.queue;
      runner = createRunner({
        store: opened,
        queue: queue ?? createLocalTurnQueue({ concurrency: config.turns.maxConcurrent, logger }),
        ...(acpClient ? { acpClient, models: createModelCatalog({ acpClient, logger }) } : {}),
        ...(control ? { control } : {}),
        ...(role === "worker" && queue
          ? {
              tellInterrupted: tellInterrupted(opened, { telegram, outbox, logger }),
              stopQueue: (graceMs: number) => queue.stop(graceMs),
            }
          : {}),
        views: createTurnViews({ telegram, outbox, prompts, streaming: config.streaming, logger }),
        fetchFile: createFileFetcher(telegram),
        ...(config.transcription
          ? { transcribe: createTranscriber({ ...config.transcription, logger }) }
          : {}),
        workspaceBasePath: config.workspaceBasePath,
        workspaceTemplateDir: config.workspaceTemplateDir,
        adoptRoots: config.adoptRoots,
        permissionMode: config.permissions.mode,
        turnTimeoutMs: config.turns.timeoutMs,
        stopTailMs: config.agent.stopGraceMs * 2 + 1_000,
        mcp: tools.mcp,
        logger,
      });
      const attached = tools.attach(runner);
      stopTools = attached.stop;
      if (role === "worker" && queue) {
        serveControl = serveTurnControl({
          runner,
          takeTap: prompts.takeRelayed,
          holdsTopic: queue.holdsTopic,
        });
      }
      if (takesUpdates) {
        bot = registerBot(telegraf, {
          runner,
          outbox,
          prompts,
          questions: tools.questions,
          schedules: attached.schedules,
          allowedUserIds: config.allowedUserIds,
          agentCommand: config.agent.argv.join(" "),
          newOpensTopic: config.newOpensTopic,
          inputDebounceMs: config.inputDebounceMs,
          logger,
        });
      }
      try {
        telegraf.botInfo = await telegram.getMe();
      } catch (err) {
        throw new StartupError(
          `Telegram getMe failed (check TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT): ${redactedMessage(err, configSecrets(config))}`,
        );
      }
      if (takesUpdates) {
        await telegram.setMyCommands(BOT_COMMANDS).catch((err: unknown) => {
          logger.warn({ err }, "setMyCommands failed: Telegram's command menu may be out of date");
        });
      }
      if (config.allowedUserIds.size === 0)
        logger.warn("ALLOWED_USER_IDS is empty: the bot will answer nobody");
      if (takesUpdates) stopExpiry = await startExpiry(opened, config.sessionTtlDays, logger);

      const http = createHttpApp({
        webhookPath: config.http.webhookPath,
        webhookSecret: config.telegram.webhookSecret,
        isAccepting: () => accepting,
        health: () => opened.health(),
        ...(takesUpdates ? { dispatch: createUpdateDispatch({ telegraf, store: opened, logger }) } : {}),
        ...(runsTurns ? { mount: { path: config.mcp.path, handle: attached.handle } } : {}),
        logger,
      });
      server = await listen(http, config.http.host, config.http.port);
      accepting = true;
      acpClient?.warmUp();
      // What a crash of the last run left running: its recorded agent groups, marked processes.
      if (runsTurns) {
        const recorded = await opened.recordedAgents().catch(() => []);
        await endLeftoverAgents(recorded, markers, config.agent.stopGraceMs, logger);
      }
      // Turns a crash (or the last shutdown) interrupted; on workers, the shards' new owners tell them.
      if (role === "all") await recoverAtStart(opened, { telegram, outbox, logger });
      await attached.start({ alone: role === "all", clock: takesUpdates });
      if (!takesUpdates) return started(server.port);
      const pollsOnPostgres = config.telegram.mode === "polling" && config.databaseUrl;
      if (pollsOnPostgres)
        pollingLock = await (await import("./cluster-parts.js")).holdPollingLock(pollsOnPostgres);
      source = createUpdateSource({
        telegraf,
        config,
        logger,
        ...(deps.onFatal ? { onFatal: deps.onFatal } : {}),
      });
      await source.start();
      return started(server.port);
      function started(port: number) {
        logger.info(
          {
            host: config.http.host,
            port,
            mode: config.telegram.mode,
            role,
            ...(runsTurns ? {} : { webhookPath: config.http.webhookPath }),
            bot: telegraf.botInfo?.username,
          },
          "tg-acp is listening",
        );
        return { port };
      }
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
      stopExpiry();
      stopTools();
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
      await pollingLock?.release();
      // The queue's stop above (ROLE=worker) already let its turns end; this stops the rest.
      if (cluster) await cluster.close(0);
      else await store?.close();
      cluster = undefined;
      pollingLock = undefined;
      store = undefined;
    },
  };
}
