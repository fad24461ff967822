import path from "node:path";
import { z } from "zod";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export const BOT_MODES = ["webhook", "polling"] as const;
/** all: one process does everything; web: webhook and commands, enqueues turns; worker: runs turns. */
export const ROLES = ["all", "web", "worker"] as const;
const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/;
const WORKER_ID = /^[A-Za-z0-9_.:-]{1,100}$/;
/** Bot API setWebhook: max_connections is 1-100. */
const MAX_CONNECTIONS_RANGE = "must be a whole number from 1 to 100";

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** Whether `name` is a time zone this Node.js knows (IANA, e.g. Europe/Berlin, or UTC). */
const knownTimeZone = (name: string) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
};

const positiveMs = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/**
 * The environment variables the bot reads, with their defaults and the one-line message each gives
 * when it is bad (zod 4). createConfig parses the environment with it once.
 */
export const envSchema = z.object({
  TELEGRAM_BOT_TOKEN: z
    .string({ error: "is required (the token @BotFather gave you)" })
    .trim()
    .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, "must look like 123456789:AA... (the token @BotFather gave you)"),
  TELEGRAM_WEBHOOK_SECRET: z
    .string({ error: "is required (1-256 characters of A-Z, a-z, 0-9, _ and -)" })
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"),
  TELEGRAM_API_ROOT: z.url("must be an http(s) URL").default("https://api.telegram.org"),
  PUBLIC_URL: optionalText.pipe(z.url("must be an https URL").optional()),
  BOT_MODE: z.enum(BOT_MODES, { error: "must be webhook or polling" }).default("webhook"),
  WEBHOOK_MAX_CONNECTIONS: z.coerce
    .number({ error: MAX_CONNECTIONS_RANGE })
    .int(MAX_CONNECTIONS_RANGE)
    .min(1, MAX_CONNECTIONS_RANGE)
    .max(100, MAX_CONNECTIONS_RANGE)
    .default(40),
  WEBHOOK_PATH: z
    .string()
    .regex(/^\/\S*$/, "must start with /")
    .default("/telegram/webhook"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_PATH: z.string().min(1).default("./data/tg-acp.db"),
  DATABASE_URL: optionalText.pipe(z.string().regex(POSTGRES_URL, "must be a postgres:// URL").optional()),
  ROLE: z.enum(ROLES, { error: "must be all, web or worker" }).default("all"),
  WORKER_ID: optionalText.pipe(
    z.string().regex(WORKER_ID, "must be 1-100 of A-Z a-z 0-9 _ . : -").optional(),
  ),
  SHARDS: z.coerce.number().int().min(1).max(1024).default(64),
  LEASE_TTL_MS: z.coerce.number().int().min(2_000).max(600_000).default(20_000),
  SHARD_BALANCE: z.stringbool({ error: "must be true or false" }).default(true),
  WORKSPACE_BASE_PATH: z.string().min(1).default("./data/workspaces"),
  WORKSPACE_TEMPLATE_DIR: optionalText,
  ACP_AGENT_COMMAND: z.string().default("kiro-cli acp"),
  ALLOWED_USER_IDS: z.string().default(""),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  LOG_PRETTY: z.stringbool({ error: "must be true or false" }).optional(),
  NODE_ENV: optionalText,
  ACP_REQUEST_TIMEOUT_MS: positiveMs(60_000),
  ACP_REPLAY_QUIET_MS: z.coerce.number().int().min(0).default(400),
  AGENT_STOP_GRACE_MS: positiveMs(5_000),
  AGENT_WARM_SPARES: z.coerce.number().int().min(0).max(16).default(1),
  AGENT_SPARE_MAX_AGE_MS: positiveMs(30 * 60_000),
  AGENT_SPARE_RETRY_MS: positiveMs(5_000),
  AGENT_KEEP_ALIVE_MS: z.coerce.number().int().min(0).default(0),
  PERMISSION_MODE: z.enum(["ask", "allow", "deny"]).default("ask"),
  PERMISSION_TIMEOUT_MS: positiveMs(600_000),
  STREAM_EDIT_INTERVAL_MS: positiveMs(1_500),
  MAX_ANSWER_CHARS: z.coerce.number().int().min(1_000).max(10_000_000).default(50_000),
  STREAM_FIRST_SEND_MS: z.coerce.number().int().min(0).max(10_000).default(800),
  RICH_MESSAGES: z.enum(["off", "final", "stream"], { error: "must be off, final or stream" }).default("off"),
  GROUP_CHAT_MESSAGES_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(20),
  PRIVATE_CHAT_MESSAGES_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(60),
  SHOW_THOUGHTS: z.stringbool({ error: "must be true or false" }).default(false),
  INPUT_DEBOUNCE_MS: z.coerce.number().int().min(0).default(1_000),
  TELEGRAM_RETRIES: z.coerce.number().int().min(0).max(20).default(8),
  CHAT_MIN_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
  MAX_CONCURRENT_TURNS: z.coerce.number().int().min(1).max(64).default(4),
  TURN_TIMEOUT_MS: positiveMs(30 * 60_000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(20_000),
  SESSION_TTL_DAYS: z.coerce.number().min(0).default(0),
  ADOPT_ROOTS: z
    .string()
    .default("")
    .transform((list) =>
      list
        .split(",")
        .map((root) => root.trim())
        .filter((root) => root !== ""),
    )
    .pipe(
      z.array(z.string().refine((root) => path.isAbsolute(root), "must be absolute paths, comma-separated")),
    ),
  NEW_OPENS_TOPIC: z.stringbool({ error: "must be true or false" }).default(false),
  TRANSCRIBE_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL (the /v1/audio/transcriptions endpoint)" })
      .optional(),
  ),
  TRANSCRIBE_API_KEY: optionalText,
  TRANSCRIBE_MODEL: z.string().trim().min(1).default("whisper-1"),
  TRANSCRIBE_TIMEOUT_MS: positiveMs(60_000),
  SCHEDULE_TZ: z
    .string()
    .trim()
    .refine(knownTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin")
    .default("UTC"),
  SCHEDULES_PER_TOPIC: z.coerce.number().int().min(1).max(1000).default(20),
  SCHEDULE_MIN_INTERVAL_MS: positiveMs(5 * 60_000),
  MCP_PATH: z
    .string()
    .regex(/^\/\S*$/, "must start with /")
    .default("/mcp"),
  MCP_URL: optionalText.pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional()),
  MCP_TOOL_CALLS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(30),
});
