import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { type CheckResult, formatCheck, runDoctor } from "../src/cli/doctor-checks.js";
import { openDatabase } from "../src/db/database.js";
import { TEST_BOT_TOKEN, testAppEnv } from "./support/app-fixture.js";
import { useHarness } from "./support/harness.js";
import { runCliEntry } from "./support/run-cli.js";
import { readAgentEvents } from "./support/test-agent-command.js";

/** Every migration drizzle-kit generated (drizzle/meta/_journal.json). */
const MIGRATIONS = (
  JSON.parse(fs.readFileSync(new URL("../drizzle/meta/_journal.json", import.meta.url), "utf8")) as {
    entries: unknown[];
  }
).entries.length;

const h = useHarness();

const doctorEnv = (options: { agentFlags?: string[]; env?: Record<string, string> } = {}) => ({
  PATH: process.env.PATH ?? "",
  ...testAppEnv({ apiRoot: h.api.url, dir: h.dir, ...options }),
});
const NOW = new Date("2025-06-01T12:00:00Z");
const doctor = (options: Parameters<typeof doctorEnv>[0] = {}) =>
  runDoctor({ env: doctorEnv(options), cwd: process.cwd(), now: () => NOW });
const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));
const statuses = (results: CheckResult[]) => results.map((r) => `${r.name}:${r.status}`);

describe("doctor", () => {
  it("passes on a working set-up and shows the agent's capabilities and models", async () => {
    openDatabase(path.join(h.dir, "tg-acp.db")).close();
    const results = await doctor({ agentFlags: ["--models", "config"] });
    expect(statuses(results)).toEqual([
      "config:ok",
      "database:ok",
      "agent:ok",
      "telegram:ok",
      "webhook:fail",
    ]);
    const checks = byName(results);
    expect(checks.config?.detail).toBe(
      "webhook on /telegram/webhook (PUBLIC_URL empty: registered by hand), 1 allowed user, listening on 127.0.0.1:0",
    );
    expect(checks.database?.detail).toBe(
      `${path.join(h.dir, "tg-acp.db")}: migrations current (${MIGRATIONS}), 0 session(s)`,
    );
    expect(checks.agent?.detail).toBe(
      "tg-acp-test-agent 1.0.0, ACP v1; capabilities: loadSession, session: close; models: fast (current), smart",
    );
    expect(checks.telegram?.detail).toBe("getMe: @mock_test_bot (id 7000000001)");
    // No PUBLIC_URL and no webhook: updates would never arrive.
    expect(checks.webhook?.detail).toMatch(/^no webhook is set and PUBLIC_URL is empty: set PUBLIC_URL/);

    // The agent ran in a temporary directory that is gone, and got no prompt.
    const events = readAgentEvents(path.join(h.dir, "agent"));
    const created = events.filter((e) => e.event === "session/new");
    expect(created).toHaveLength(1);
    expect(String(created[0]?.cwd).startsWith(os.tmpdir())).toBe(true);
    expect(fs.existsSync(String(created[0]?.cwd))).toBe(false);
    expect(events.some((e) => e.event === "prompt-start")).toBe(false);
    expect(events.some((e) => e.event === "session/close")).toBe(true);
  });

  it("reads the legacy models field, and accepts a registered webhook and a database not created yet", async () => {
    h.api.setWebhookInfo({ url: "https://bot.example.com/telegram/webhook" });
    const results = await doctor({
      agentFlags: ["--models", "legacy"],
      env: { PUBLIC_URL: "https://bot.example.com" },
    });
    expect(statuses(results)).toEqual(["config:ok", "database:ok", "agent:ok", "telegram:ok", "webhook:ok"]);
    const checks = byName(results);
    expect(checks.agent?.detail).toMatch(/; models: fast \(current\), smart$/);
    expect(checks.config?.detail).toMatch(/^webhook at https:\/\/bot\.example\.com\/telegram\/webhook, /);
    expect(checks.database?.detail).toMatch(/does not exist yet; start-up creates and migrates it$/);
    expect(checks.webhook?.detail).toBe(
      "https://bot.example.com/telegram/webhook, 0 pending, no delivery error",
    );
    expect(fs.existsSync(path.join(h.dir, "tg-acp.db"))).toBe(false);
  });

  it("fails the webhook check on a recent delivery error and shows Telegram's message", async () => {
    h.api.setWebhookInfo({
      url: "https://bot.example.com/telegram/webhook",
      pending_update_count: 5,
      last_error_date: NOW.getTime() / 1000 - 60,
      last_error_message: "Wrong response from the webhook: 502 Bad Gateway",
    });
    const checks = byName(await doctor({ env: { PUBLIC_URL: "https://bot.example.com" } }));
    expect(checks.webhook?.status).toBe("fail");
    expect(checks.webhook?.detail).toMatch(
      /^Telegram cannot deliver updates to https:\/\/bot\.example\.com\/telegram\/webhook \(5 pending\), last delivery error 2025-06-01T11:59:00\.000Z \(60 s ago\): Wrong response from the webhook: 502 Bad Gateway: check that the TLS proxy forwards \/telegram\/webhook to 127\.0\.0\.1:0$/,
    );
  });

  it("says what to fix when the Bot API is unreachable and the agent binary is missing", async () => {
    const results = await doctor({
      env: { TELEGRAM_API_ROOT: "http://127.0.0.1:9", ACP_AGENT_COMMAND: "no-such-agent-binary acp" },
    });
    expect(statuses(results)).toEqual([
      "config:ok",
      "database:ok",
      "agent:fail",
      "telegram:fail",
      "webhook:skip",
    ]);
    const checks = byName(results);
    expect(checks.agent?.detail).toMatch(/^ACP_AGENT_COMMAND: `no-such-agent-binary` was not found on PATH/);
    expect(checks.telegram?.detail).toMatch(
      /^getMe failed: .*ECONNREFUSED.*: check TELEGRAM_API_ROOT and this machine's network$/,
    );
    for (const result of results) expect(result.detail).not.toContain(TEST_BOT_TOKEN);
  });

  it("reports an agent that dies during initialize, a rejected token and unapplied migrations", async () => {
    const database = path.join(h.dir, "tg-acp.db");
    openDatabase(database).close();
    const raw = new Database(database);
    raw.exec("delete from __drizzle_migrations");
    raw.close();
    h.api.fail("getMe", 401, "Unauthorized");
    const results = await doctor({ env: { ACP_AGENT_COMMAND: "false" } });
    const checks = byName(results);
    expect(checks.database?.detail).toBe(
      `${database}: ${MIGRATIONS} of ${MIGRATIONS} migration(s) not applied: start the bot once (start-up applies them)`,
    );
    expect(checks.agent?.detail).toBe(
      "`false`: the agent exited with code 1 during initialize: check ACP_AGENT_COMMAND and the agent's login",
    );
    expect(checks.telegram?.detail).toBe(
      "getMe failed: 401: Unauthorized: check TELEGRAM_BOT_TOKEN (the token @BotFather gave you)",
    );
    expect(statuses(results)).toEqual([
      "config:ok",
      "database:fail",
      "agent:fail",
      "telegram:fail",
      "webhook:skip",
    ]);
  });

  it("fails the config check for a bad variable and an empty allowlist", async () => {
    const bad = await doctor({ env: { PORT: "http" } });
    expect(bad.map(formatCheck)).toEqual([
      expect.stringMatching(/^FAIL config: PORT /),
      "skip database: needs a valid configuration",
      "skip agent: needs a valid configuration",
      "skip telegram: needs a valid configuration",
      "skip webhook: needs a valid configuration",
    ]);
    const nobody = byName(await doctor({ env: { ALLOWED_USER_IDS: "" } }));
    expect(nobody.config?.status).toBe("fail");
    expect(nobody.config?.detail).toMatch(/^ALLOWED_USER_IDS is empty, so the bot answers nobody/);
  });

  it("prints one line per check and exits non-zero on a failure (npm run doctor)", async () => {
    const result = await runCliEntry("doctor", [], {
      env: doctorEnv({ env: { TELEGRAM_API_ROOT: "http://127.0.0.1:9" } }),
      cwd: h.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^ok {3}config: /),
      expect.stringMatching(/^ok {3}database: /),
      expect.stringMatching(/^ok {3}agent: tg-acp-test-agent 1\.0\.0/),
      expect.stringMatching(/^FAIL telegram: getMe failed: /),
      "skip webhook: needs a working getMe",
    ]);
  });
});
