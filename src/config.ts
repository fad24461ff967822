import path from "node:path";
import { parseArgsStringToArgv as parseArgv } from "string-argv";
import { type BOT_MODES, envSchema, type LOG_LEVELS, type ROLES } from "./config-env.js";
import { type AgentToolsConfig, agentToolsConfig } from "./config-tools.js";

/** Thrown by {@link createConfig}; `message` is one line naming the variable and what to fix. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Every environment variable the configuration reads (the names in the schema). */
export const CONFIG_ENV_NAMES: readonly string[] = Object.keys(envSchema.shape);

/**
 * The bot's configuration, parsed once at start-up from the environment (and `.env`).
 * Durations are in ms; paths are absolute.
 */
export type Config = {
  telegram: {
    /** Bot API token from @BotFather. Never logged. */
    botToken: string;
    /** Compared with the X-Telegram-Bot-Api-Secret-Token header (Bot API setWebhook `secret_token`). */
    webhookSecret: string;
    /** Bot API origin, e.g. https://api.telegram.org or a local mock / telegram-bot-api server. */
    apiRoot: string;
    /** Public HTTPS origin the webhook is reachable at, when set. */
    publicUrl: string | undefined;
    /**
     * How updates arrive: "webhook" (Telegram POSTs them; PUBLIC_URL registers it) or "polling"
     * (getUpdates long polling, for trying the bot without a public HTTPS URL).
     */
    mode: (typeof BOT_MODES)[number];
    /** setWebhook `max_connections`: simultaneous HTTPS connections Telegram may open, 1-100. */
    webhookMaxConnections: number;
  };
  http: { host: string; port: number; webhookPath: string };
  databasePath: string;
  /** PostgreSQL connection URL (DATABASE_URL): set, it selects the Postgres mode instead of the SQLite file. */
  databaseUrl: string | undefined;
  /** How this process takes part when several share one Postgres database. */
  cluster: {
    /** all: one process does everything (the only role without DATABASE_URL); web; worker. */
    role: (typeof ROLES)[number];
    /** This worker's name in the shard leases (WORKER_ID, default the hostname). */
    workerId: string;
    /** Topics are spread over this many shards (fixed for a database: every process must agree). */
    shards: number;
    /** How long a worker's shard lease lasts after a renewal, ms (LEASE_TTL_MS); renewed every ttl/4, at most every 1000 ms. */
    leaseTtlMs: number;
    /** Whether a saturated worker hands idle shards with waiting turns to a less-loaded one (SHARD_BALANCE). */
    balance: boolean;
  };
  workspaceBasePath: string;
  /**
   * Directories (absolute) besides WORKSPACE_BASE_PATH under which `/sessions agent` may adopt an
   * agent's session with its own cwd (ADOPT_ROOTS; empty = the workspace base only).
   */
  adoptRoots: readonly string[];
  /** `/new` in a forum group opens the fresh session in a new forum topic (NEW_OPENS_TOPIC). */
  newOpensTopic: boolean;
  /** Directory copied into each new workspace before session/new (agent instructions), when set. */
  workspaceTemplateDir: string | undefined;
  /**
   * Speech-to-text for voice notes and audio files when the agent takes no audio (TRANSCRIBE_*):
   * an OpenAI-compatible POST /v1/audio/transcriptions; undefined without TRANSCRIBE_URL.
   */
  transcription:
    | {
        /** The endpoint's full URL, e.g. https://api.openai.com/v1/audio/transcriptions. */
        url: string;
        /** Sent as `Authorization: Bearer <key>` when set. Never logged, never passed to the agent. */
        apiKey: string | undefined;
        /** The multipart `model` field, e.g. whisper-1. */
        model: string;
        /** A transcription taking longer is abandoned (the turn fails with one line), ms. */
        timeoutMs: number;
      }
    | undefined;
  agent: {
    /** argv of the ACP agent, split like a shell would (no shell runs it). */
    argv: [string, ...string[]];
    /** Timeout of every set-up request (initialize, session/new|load|resume), ms. */
    requestTimeoutMs: number;
    /** After session/load, how long no update must arrive before replay counts as over, ms. */
    replayQuietMs: number;
    /** How long the agent gets after stdin closes, and again after SIGTERM, before the next step, ms. */
    stopGraceMs: number;
    /** Agent processes kept spawned and past initialize, bound to no session (0 = none). */
    warmSpares: number;
    /** A spare older than this is replaced, ms. */
    spareMaxAgeMs: number;
    /** After a spare failed or died, the next one starts no sooner than this, ms. */
    spareRetryMs: number;
    /** A topic's process stays alive this long after its turn for the next prompt (0 = never), ms. */
    keepAliveMs: number;
  };
  permissions: {
    /** ask: inline buttons in the topic; allow / deny: answer every request so, for unattended use. */
    mode: "ask" | "allow" | "deny";
    /** An unanswered permission prompt resolves as cancelled after this long, ms. */
    timeoutMs: number;
  };
  streaming: {
    /** Least time between two edits (or drafts) of one message, ms. */
    editIntervalMs: number;
    /** How long the first message of an answer waits for more text (or the turn's end), ms. */
    firstSendMs: number;
    /** Past this many characters of an answer, messages stop and the whole answer goes as answer.md. */
    maxAnswerChars: number;
    /**
     * RICH_MESSAGES: `off` HTML messages; `final` finished answers as rich messages (Bot API 10.1
     * sendRichMessage); `stream` rich drafts and rich edits while streaming too.
     */
    richMessages: "off" | "final" | "stream";
    /** Messages and edits per minute per group (all its topics share it) and per private chat. */
    groupPerMinute: number;
    privatePerMinute: number;
    /** Show agent_thought_chunk in the progress message. */
    showThoughts: boolean;
    /** Retries of a Bot API call that failed with 429, 5xx or a network error. */
    retries: number;
    /** Least time between two Bot API calls to one chat, ms. */
    chatMinIntervalMs: number;
  };
  turns: {
    /** At most this many agent processes at once, across all topics. */
    maxConcurrent: number;
    /** A turn running longer is cancelled, ms. */
    timeoutMs: number;
    /** On SIGTERM/SIGINT, how long running turns may finish before they are interrupted, ms. */
    shutdownGraceMs: number;
  };
  /** Sessions idle longer are removed with their journal (0 = keep forever), days. */
  sessionTtlDays: number;
  /** Parts of a long pasted message (Telegram splits at 4096) arriving within this window form one prompt, ms. */
  inputDebounceMs: number;
  /** Telegram user ids allowed to use the bot; empty means nobody. */
  allowedUserIds: ReadonlySet<number>;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Human-readable log lines (pino-pretty) instead of JSON: LOG_PRETTY, else NODE_ENV=development. */
  logPretty: boolean;
} & AgentToolsConfig;

/** Environment variables that the agent subprocess must never see. */
export const SECRET_ENV_NAMES = [
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_WEBHOOK_SECRET",
  "DATABASE_URL",
  "TRANSCRIBE_API_KEY",
] as const;

/**
 * The secret values of a config (bot token, webhook secret, DATABASE_URL's password,
 * TRANSCRIBE_API_KEY): never logged, never shown, never passed on.
 */
export function configSecrets(config: Config): string[] {
  const password =
    config.databaseUrl && URL.canParse(config.databaseUrl) && new URL(config.databaseUrl).password;
  return [
    config.telegram.botToken,
    config.telegram.webhookSecret,
    ...(password ? [decodeURIComponent(password)] : []),
    ...(config.transcription?.apiKey ? [config.transcription.apiKey] : []),
  ];
}

/** The webhook's public URL, PUBLIC_URL + WEBHOOK_PATH (Bot API setWebhook `url`); undefined without PUBLIC_URL. */
export function webhookUrl(config: Config): string | undefined {
  const { publicUrl } = config.telegram;
  return publicUrl === undefined ? undefined : new URL(config.http.webhookPath, publicUrl).toString();
}

/**
 * Parses and validates the environment into a {@link Config}. Pure: reads nothing but its
 * arguments. Relative paths are resolved against `cwd` (absolute); `machine.hostname` (os.hostname(),
 * passed in by main.ts) is the default WORKER_ID.
 *
 * @throws ConfigError with a one-line message naming the first bad or missing variable.
 */
export function createConfig(
  env: Record<string, string | undefined>,
  cwd: string,
  machine: { hostname?: string } = {},
): Config {
  const input = Object.fromEntries(
    Object.keys(envSchema.shape).map((name) => {
      const value = env[name];
      // An empty variable means "use the default", as in most .env tooling.
      return [name, value === "" && name !== "ALLOWED_USER_IDS" ? undefined : value];
    }),
  );
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "configuration");
    throw new ConfigError(`${name} ${issue?.message ?? "is invalid"}`);
  }
  const e = parsed.data;

  const argv = parseArgv(e.ACP_AGENT_COMMAND);
  const [command, ...args] = argv;
  if (command === undefined) {
    throw new ConfigError("ACP_AGENT_COMMAND is empty (set it to the agent's command, e.g. `kiro-cli acp`)");
  }

  if (e.BOT_MODE === "polling" && e.PUBLIC_URL !== undefined) {
    throw new ConfigError(
      "PUBLIC_URL is set but BOT_MODE=polling (polling deletes the webhook): unset PUBLIC_URL or use BOT_MODE=webhook",
    );
  }

  if (e.ROLE !== "all" && e.DATABASE_URL === undefined) {
    throw new ConfigError(
      `ROLE=${e.ROLE} needs DATABASE_URL (postgres://...): web and worker share a Postgres database`,
    );
  }

  return {
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
      apiRoot: e.TELEGRAM_API_ROOT,
      publicUrl: e.PUBLIC_URL,
      mode: e.BOT_MODE,
      webhookMaxConnections: e.WEBHOOK_MAX_CONNECTIONS,
    },
    http: { host: e.HOST, port: e.PORT, webhookPath: e.WEBHOOK_PATH },
    databasePath: path.resolve(cwd, e.DATABASE_PATH),
    databaseUrl: e.DATABASE_URL,
    cluster: {
      role: e.ROLE,
      workerId: e.WORKER_ID ?? machine.hostname ?? "localhost",
      shards: e.SHARDS,
      leaseTtlMs: e.LEASE_TTL_MS,
      balance: e.SHARD_BALANCE,
    },
    workspaceBasePath: path.resolve(cwd, e.WORKSPACE_BASE_PATH),
    workspaceTemplateDir: e.WORKSPACE_TEMPLATE_DIR && path.resolve(cwd, e.WORKSPACE_TEMPLATE_DIR),
    adoptRoots: e.ADOPT_ROOTS.map((root) => path.resolve(root)),
    newOpensTopic: e.NEW_OPENS_TOPIC,
    transcription: e.TRANSCRIBE_URL
      ? {
          url: e.TRANSCRIBE_URL,
          apiKey: e.TRANSCRIBE_API_KEY,
          model: e.TRANSCRIBE_MODEL,
          timeoutMs: e.TRANSCRIBE_TIMEOUT_MS,
        }
      : undefined,
    agent: {
      argv: [command, ...args],
      requestTimeoutMs: e.ACP_REQUEST_TIMEOUT_MS,
      replayQuietMs: e.ACP_REPLAY_QUIET_MS,
      stopGraceMs: e.AGENT_STOP_GRACE_MS,
      warmSpares: e.AGENT_WARM_SPARES,
      spareMaxAgeMs: e.AGENT_SPARE_MAX_AGE_MS,
      spareRetryMs: e.AGENT_SPARE_RETRY_MS,
      keepAliveMs: e.AGENT_KEEP_ALIVE_MS,
    },
    permissions: { mode: e.PERMISSION_MODE, timeoutMs: e.PERMISSION_TIMEOUT_MS },
    streaming: {
      editIntervalMs: e.STREAM_EDIT_INTERVAL_MS,
      firstSendMs: e.STREAM_FIRST_SEND_MS,
      maxAnswerChars: e.MAX_ANSWER_CHARS,
      richMessages: e.RICH_MESSAGES,
      groupPerMinute: e.GROUP_CHAT_MESSAGES_PER_MINUTE,
      privatePerMinute: e.PRIVATE_CHAT_MESSAGES_PER_MINUTE,
      showThoughts: e.SHOW_THOUGHTS,
      retries: e.TELEGRAM_RETRIES,
      chatMinIntervalMs: e.CHAT_MIN_INTERVAL_MS,
    },
    inputDebounceMs: e.INPUT_DEBOUNCE_MS,
    turns: {
      maxConcurrent: e.MAX_CONCURRENT_TURNS,
      timeoutMs: e.TURN_TIMEOUT_MS,
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    },
    ...agentToolsConfig(e),
    sessionTtlDays: e.SESSION_TTL_DAYS,
    allowedUserIds: parseUserIds(e.ALLOWED_USER_IDS),
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY ?? e.NODE_ENV === "development",
  };
}

function parseUserIds(list: string): ReadonlySet<number> {
  const ids = new Set<number>();
  for (const part of list.split(/[\s,]+/)) {
    if (part === "") continue;
    if (!/^\d{1,16}$/.test(part)) {
      throw new ConfigError(
        `ALLOWED_USER_IDS has "${part}", which is not a Telegram user id (a positive integer)`,
      );
    }
    ids.add(Number(part));
  }
  return ids;
}
