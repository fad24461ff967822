import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, configSecrets, createConfig, SECRET_ENV_NAMES } from "../src/config.js";

const required = {
  TELEGRAM_BOT_TOKEN: "123456789:AAH-abcdefghijklmnopqrstuvwxyz_0123",
  TELEGRAM_WEBHOOK_SECRET: "s3cret_token-1",
};

function errorOf(env: Record<string, string | undefined>): string {
  try {
    createConfig(env, "/srv/bot");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("createConfig accepted a bad environment");
}

describe("createConfig", () => {
  it("applies the documented defaults", () => {
    const config = createConfig(required, "/srv/bot");
    expect(config.telegram.apiRoot).toBe("https://api.telegram.org");
    expect(config.telegram.publicUrl).toBeUndefined();
    expect(config.telegram.mode).toBe("webhook");
    expect(config.telegram.webhookMaxConnections).toBe(40);
    expect(config.http).toEqual({ host: "0.0.0.0", port: 8080, webhookPath: "/telegram/webhook" });
    expect(config.databasePath).toBe(path.resolve("/srv/bot", "data/tg-acp.db"));
    expect(config.workspaceBasePath).toBe(path.resolve("/srv/bot", "data/workspaces"));
    expect(config.workspaceTemplateDir).toBeUndefined();
    expect(config.agent.argv).toEqual(["kiro-cli", "acp"]);
    expect(config.allowedUserIds.size).toBe(0);
    expect(config.logLevel).toBe("info");
    expect(config.logPretty).toBe(false);
  });

  it("reads every variable", () => {
    const config = createConfig(
      {
        ...required,
        TELEGRAM_API_ROOT: "http://127.0.0.1:9999",
        PUBLIC_URL: "https://bot.example.com",
        WEBHOOK_PATH: "/hook",
        WEBHOOK_MAX_CONNECTIONS: "100",
        HOST: "127.0.0.1",
        PORT: "3000",
        DATABASE_PATH: "/var/lib/tg/db.sqlite",
        WORKSPACE_BASE_PATH: "ws",
        WORKSPACE_TEMPLATE_DIR: "agent-template",
        ACP_AGENT_COMMAND: `gemini --acp --model "gemini 2.5 pro"`,
        ALLOWED_USER_IDS: "111, 222,333",
        LOG_LEVEL: "debug",
        LOG_PRETTY: "true",
      },
      "/srv/bot",
    );
    expect(config.telegram.apiRoot).toBe("http://127.0.0.1:9999");
    expect(config.telegram.publicUrl).toBe("https://bot.example.com");
    expect(config.telegram.webhookMaxConnections).toBe(100);
    expect(createConfig({ ...required, BOT_MODE: "polling" }, "/srv/bot").telegram.mode).toBe("polling");
    expect(config.http).toEqual({ host: "127.0.0.1", port: 3000, webhookPath: "/hook" });
    expect(config.databasePath).toBe("/var/lib/tg/db.sqlite");
    expect(config.workspaceBasePath).toBe("/srv/bot/ws");
    expect(config.workspaceTemplateDir).toBe("/srv/bot/agent-template");
    expect(config.agent.argv).toEqual(["gemini", "--acp", "--model", "gemini 2.5 pro"]);
    expect([...config.allowedUserIds]).toEqual([111, 222, 333]);
    expect(config.logLevel).toBe("debug");
    expect(config.logPretty).toBe(true);
  });

  it("selects the Postgres mode with DATABASE_URL; ROLE, WORKER_ID (default the hostname), SHARDS and LEASE_TTL_MS", () => {
    const sqlite = createConfig(required, "/srv/bot", { hostname: "vps-1" });
    expect(sqlite.databaseUrl).toBeUndefined();
    expect(sqlite.cluster).toEqual({
      role: "all",
      workerId: "vps-1",
      shards: 64,
      leaseTtlMs: 20_000,
      balance: true,
    });
    const url = "postgres://tg:pa%24%24word-42@db.internal:5432/tg";
    const worker = createConfig(
      {
        ...required,
        DATABASE_URL: url,
        ROLE: "worker",
        WORKER_ID: "w-2",
        SHARDS: "16",
        LEASE_TTL_MS: "5000",
        SHARD_BALANCE: "false",
      },
      "/srv/bot",
      { hostname: "vps-1" },
    );
    expect(worker.databaseUrl).toBe(url);
    expect(worker.cluster).toEqual({
      role: "worker",
      workerId: "w-2",
      shards: 16,
      leaseTtlMs: 5_000,
      balance: false,
    });
    expect(() => createConfig({ ...required, LEASE_TTL_MS: "100" }, "/srv/bot")).toThrow(/LEASE_TTL_MS/);
    expect(configSecrets(worker)).toContain("pa$$word-42");
    expect(SECRET_ENV_NAMES).toContain("DATABASE_URL");
  });

  it("reads the transcription settings only with TRANSCRIBE_URL; its key is a secret", () => {
    expect(createConfig(required, "/srv/bot").transcription).toBeUndefined();
    expect(
      createConfig({ ...required, TRANSCRIBE_API_KEY: "gsk_orphan-key-123", TRANSCRIBE_URL: "" }, "/srv/bot")
        .transcription,
    ).toBeUndefined();
    const url = "http://127.0.0.1:8178/v1/audio/transcriptions";
    const local = createConfig({ ...required, TRANSCRIBE_URL: url }, "/srv/bot");
    expect(local.transcription).toEqual({ url, apiKey: undefined, model: "whisper-1", timeoutMs: 60_000 });
    const groq = createConfig(
      {
        ...required,
        TRANSCRIBE_URL: "https://api.groq.com/openai/v1/audio/transcriptions",
        TRANSCRIBE_API_KEY: "gsk_test-key-0123456789",
        TRANSCRIBE_MODEL: "whisper-large-v3-turbo",
        TRANSCRIBE_TIMEOUT_MS: "15000",
      },
      "/srv/bot",
    );
    expect(groq.transcription).toMatchObject({ model: "whisper-large-v3-turbo", timeoutMs: 15_000 });
    expect(configSecrets(groq)).toContain("gsk_test-key-0123456789");
    expect(SECRET_ENV_NAMES).toContain("TRANSCRIBE_API_KEY");
  });

  it("logs pretty in development unless LOG_PRETTY says otherwise", () => {
    expect(createConfig({ ...required, NODE_ENV: "development" }, "/srv/bot").logPretty).toBe(true);
    expect(createConfig({ ...required, NODE_ENV: "production" }, "/srv/bot").logPretty).toBe(false);
    expect(
      createConfig({ ...required, NODE_ENV: "development", LOG_PRETTY: "false" }, "/srv/bot").logPretty,
    ).toBe(false);
  });

  it("names the missing or bad variable in one line", () => {
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{ TELEGRAM_WEBHOOK_SECRET: "x" }, /^TELEGRAM_BOT_TOKEN is required/],
      [{ ...required, TELEGRAM_BOT_TOKEN: "nope" }, /^TELEGRAM_BOT_TOKEN must look like/],
      [{ TELEGRAM_BOT_TOKEN: required.TELEGRAM_BOT_TOKEN }, /^TELEGRAM_WEBHOOK_SECRET is required/],
      [{ ...required, TELEGRAM_WEBHOOK_SECRET: "has space" }, /^TELEGRAM_WEBHOOK_SECRET must be/],
      [{ ...required, PORT: "http" }, /^PORT /],
      [{ ...required, PORT: "70000" }, /^PORT /],
      [{ ...required, TELEGRAM_API_ROOT: "not a url" }, /^TELEGRAM_API_ROOT /],
      [{ ...required, PUBLIC_URL: "bot.example.com" }, /^PUBLIC_URL /],
      [{ ...required, WEBHOOK_PATH: "hook" }, /^WEBHOOK_PATH must start with \//],
      [{ ...required, LOG_LEVEL: "loud" }, /^LOG_LEVEL /],
      [{ ...required, LOG_PRETTY: "maybe" }, /^LOG_PRETTY must be true or false/],
      [{ ...required, BOT_MODE: "push" }, /^BOT_MODE must be webhook or polling/],
      [{ ...required, RICH_MESSAGES: "yes" }, /^RICH_MESSAGES must be off, final or stream$/],
      [
        { ...required, WEBHOOK_MAX_CONNECTIONS: "0" },
        /^WEBHOOK_MAX_CONNECTIONS must be a whole number from 1 to 100/,
      ],
      [{ ...required, WEBHOOK_MAX_CONNECTIONS: "101" }, /^WEBHOOK_MAX_CONNECTIONS must be a whole number/],
      [{ ...required, WEBHOOK_MAX_CONNECTIONS: "many" }, /^WEBHOOK_MAX_CONNECTIONS must be a whole number/],
      [
        { ...required, BOT_MODE: "polling", PUBLIC_URL: "https://bot.example.com" },
        /^PUBLIC_URL is set but BOT_MODE=polling/,
      ],
      [{ ...required, ALLOWED_USER_IDS: "111,bob" }, /^ALLOWED_USER_IDS has "bob"/],
      [{ ...required, ACP_AGENT_COMMAND: "   " }, /^ACP_AGENT_COMMAND is empty/],
      [{ ...required, DATABASE_URL: "mysql://db/tg" }, /^DATABASE_URL must be a postgres:\/\/ URL/],
      [{ ...required, ROLE: "leader" }, /^ROLE must be all, web or worker$/],
      [{ ...required, ROLE: "worker" }, /^ROLE=worker needs DATABASE_URL/],
      [{ ...required, WORKER_ID: "a b" }, /^WORKER_ID must be/],
      [{ ...required, SHARDS: "0" }, /^SHARDS /],
      [{ ...required, TRANSCRIBE_URL: "localhost:8178" }, /^TRANSCRIBE_URL must be an http\(s\) URL/],
      [{ ...required, TRANSCRIBE_URL: "ftp://stt.example/v1" }, /^TRANSCRIBE_URL must be an http\(s\) URL/],
      [{ ...required, TRANSCRIBE_TIMEOUT_MS: "0" }, /^TRANSCRIBE_TIMEOUT_MS /],
    ];
    for (const [env, expected] of cases) {
      const message = errorOf(env);
      expect(message).toMatch(expected);
      expect(message).not.toContain("\n");
    }
  });

  it("treats empty variables as unset, except ALLOWED_USER_IDS which stays empty", () => {
    const config = createConfig({ ...required, PORT: "", PUBLIC_URL: "", ALLOWED_USER_IDS: "" }, "/srv/bot");
    expect(config.http.port).toBe(8080);
    expect(config.telegram.publicUrl).toBeUndefined();
    expect(config.allowedUserIds.size).toBe(0);
  });
});
