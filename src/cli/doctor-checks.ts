import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as acp from "@agentclientprotocol/sdk";
import pino from "pino";
import { Telegram } from "telegraf";
import type { UserFromGetMe, WebhookInfo } from "telegraf/types";
import { createAcpClient } from "../acp/acp-client.js";
import { resolveAgentExecutable } from "../acp/agent-command.js";
import type { AgentDescription } from "../acp/turn-types.js";
import { agentClientOptions } from "../agent-options.js";
import { type Config, configSecrets, createConfig, webhookUrl } from "../config.js";
import { readMigrationStatus } from "../db/migration-status.js";
import type { Logger } from "../logger.js";
import { redactedMessage } from "../redact.js";
import { templateDirProblem } from "../workspace.js";
import { dateAndAge } from "./webhook-info.js";

/** The checks `npm run doctor` runs, in order. */
export const CHECK_NAMES = ["config", "database", "agent", "telegram", "webhook"] as const;

/** One check's outcome: "ok", "fail" (what to fix) or "skip" (an earlier check it needs failed). */
export type CheckResult = {
  name: (typeof CHECK_NAMES)[number];
  status: "ok" | "fail" | "skip";
  detail: string;
};

/** A webhook delivery error younger than this counts as current, s. */
export const RECENT_WEBHOOK_ERROR_S = 3600;

/**
 * Checks what the bot needs, without starting it: the configuration (as start-up parses it, plus an
 * empty ALLOWED_USER_IDS and a missing WORKSPACE_TEMPLATE_DIR); the database (opens read-only, all
 * migrations in drizzle/ applied; a file not created yet is fine); the agent (spawn, ACP initialize and
 * session/new in a temporary directory, then its capabilities and models); Telegram (Bot API getMe);
 * the webhook (Bot API getWebhookInfo: registered where the mode expects, no delivery error in the
 * last {@link RECENT_WEBHOOK_ERROR_S} s). Never throws; changes nothing but the temporary directory.
 *
 * @param deps.env the environment (after .env); deps.cwd resolves relative paths; deps.now for ages.
 * @returns one result per {@link CHECK_NAMES} entry, in that order.
 */
export async function runDoctor(deps: {
  env: NodeJS.ProcessEnv;
  cwd: string;
  now?: () => Date;
  logger?: Logger;
}): Promise<CheckResult[]> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? pino({ level: "silent" });
  let config: Config;
  try {
    config = createConfig(deps.env, deps.cwd);
  } catch (err) {
    return [
      { name: "config", status: "fail", detail: (err as Error).message },
      ...CHECK_NAMES.slice(1).map((name) => skip(name, "needs a valid configuration")),
    ];
  }
  const secrets = configSecrets(config);
  const results: CheckResult[] = [checkConfig(config), checkDatabase(config.databasePath)];
  results.push(await checkAgent(config, deps.env, deps.cwd, logger));
  let me: UserFromGetMe | undefined;
  const telegram = new Telegram(config.telegram.botToken, { apiRoot: config.telegram.apiRoot });
  try {
    me = await telegram.getMe();
    results.push({ name: "telegram", status: "ok", detail: `getMe: @${me.username} (id ${me.id})` });
  } catch (err) {
    results.push(fail("telegram", `getMe failed: ${redactedMessage(err, secrets)}: ${telegramHint(err)}`));
  }
  if (me === undefined) {
    results.push(skip("webhook", "needs a working getMe"));
  } else {
    try {
      results.push(checkWebhook(config, await telegram.getWebhookInfo(), now()));
    } catch (err) {
      results.push(fail("webhook", `getWebhookInfo failed: ${redactedMessage(err, secrets)}`));
    }
  }
  return results;
}

/** A result as the line `npm run doctor` prints: `ok   name: detail`, `FAIL name: detail`, `skip name: detail`. */
export function formatCheck(result: CheckResult): string {
  const label = { ok: "ok  ", fail: "FAIL", skip: "skip" }[result.status];
  return `${label} ${result.name}: ${result.detail}`;
}

function checkConfig(config: Config): CheckResult {
  if (config.allowedUserIds.size === 0) {
    return fail(
      "config",
      "ALLOWED_USER_IDS is empty, so the bot answers nobody: add your Telegram user id (a private message to the bot tells it)",
    );
  }
  const template = config.workspaceTemplateDir && templateDirProblem(config.workspaceTemplateDir);
  if (template) return fail("config", `WORKSPACE_TEMPLATE_DIR ${template}`);
  const mode =
    config.telegram.mode === "polling"
      ? "polling"
      : config.telegram.publicUrl
        ? `webhook at ${webhookUrl(config)}`
        : `webhook on ${config.http.webhookPath} (PUBLIC_URL empty: registered by hand)`;
  const users = config.allowedUserIds.size;
  return {
    name: "config",
    status: "ok",
    detail: `${mode}, ${users} allowed user${users === 1 ? "" : "s"}, listening on ${config.http.host}:${config.http.port}`,
  };
}

function checkDatabase(file: string): CheckResult {
  if (!fs.existsSync(file)) {
    const dir = nearestExisting(path.dirname(file));
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      return fail(
        "database",
        `DATABASE_PATH ${file} does not exist and ${dir} is not writable: create it or fix its owner`,
      );
    }
    return {
      name: "database",
      status: "ok",
      detail: `${file} does not exist yet; start-up creates and migrates it`,
    };
  }
  try {
    fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
    const status = readMigrationStatus(file);
    if (status.unknown > 0) {
      return fail(
        "database",
        `${file} has ${status.unknown} migration(s) this version does not ship: it was used by a newer tg-acp`,
      );
    }
    if (status.pending > 0) {
      return fail(
        "database",
        `${file}: ${status.pending} of ${status.shipped} migration(s) not applied: start the bot once (start-up applies them)`,
      );
    }
    return {
      name: "database",
      status: "ok",
      detail: `${file}: migrations current (${status.shipped}), ${status.sessions ?? 0} session(s)`,
    };
  } catch (err) {
    return fail("database", `DATABASE_PATH ${file} cannot be opened: ${(err as Error).message}`);
  }
}

async function checkAgent(
  config: Config,
  env: NodeJS.ProcessEnv,
  cwd: string,
  logger: Logger,
): Promise<CheckResult> {
  const command = config.agent.argv.join(" ");
  try {
    resolveAgentExecutable(config.agent.argv[0], env, cwd);
  } catch (err) {
    return fail("agent", (err as Error).message);
  }
  const options = agentClientOptions(config, env, logger);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-doctor-"));
  try {
    const probe = await createAcpClient(options).describe(scratch);
    return { name: "agent", status: "ok", detail: describeProbe(command, probe) };
  } catch (err) {
    return fail(
      "agent",
      `\`${command}\`: ${(err as Error).message}: check ACP_AGENT_COMMAND and the agent's login`,
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function checkWebhook(config: Config, info: WebhookInfo, now: Date): CheckResult {
  const url = info.url ?? "";
  const ageS = info.last_error_date === undefined ? undefined : now.getTime() / 1000 - info.last_error_date;
  const lastError =
    info.last_error_date === undefined
      ? "no delivery error"
      : `last delivery error ${dateAndAge(info.last_error_date, now)}: ${info.last_error_message ?? "?"}`;
  if (ageS !== undefined && ageS < RECENT_WEBHOOK_ERROR_S && config.telegram.mode === "webhook") {
    return fail(
      "webhook",
      `Telegram cannot deliver updates to ${url || "the webhook"} (${info.pending_update_count} pending), ${lastError}: check that the TLS proxy forwards ${config.http.webhookPath} to ${config.http.host}:${config.http.port}`,
    );
  }
  const summary = `${info.pending_update_count} pending, ${lastError}`;
  if (config.telegram.mode === "polling") {
    return {
      name: "webhook",
      status: "ok",
      detail: url
        ? `set to ${url}; BOT_MODE=polling deletes it at start-up`
        : `none (BOT_MODE=polling), ${summary}`,
    };
  }
  if (config.telegram.publicUrl) {
    const expected = webhookUrl(config);
    if (url === "")
      return { name: "webhook", status: "ok", detail: `not set yet; start-up registers ${expected}` };
    if (url !== expected) {
      return fail(
        "webhook",
        `set to ${url}, not ${expected}: restart the bot to register PUBLIC_URL + WEBHOOK_PATH`,
      );
    }
    return { name: "webhook", status: "ok", detail: `${url}, ${summary}` };
  }
  if (url === "") {
    return fail(
      "webhook",
      "no webhook is set and PUBLIC_URL is empty: set PUBLIC_URL, or use BOT_MODE=polling",
    );
  }
  return { name: "webhook", status: "ok", detail: `${url} (registered outside the bot), ${summary}` };
}

/** `<name> <version>, ACP v<n>; capabilities: ...; models: a (current), b` on one line. */
function describeProbe(command: string, probe: AgentDescription): string {
  const who = probe.agentInfo
    ? `${probe.agentInfo.name} ${probe.agentInfo.version ?? ""}`.trim()
    : `\`${command}\``;
  const models = probe.models
    ? probe.models.available
        .map((m) => (m.id === probe.models?.current ? `${m.id} (current)` : m.id))
        .join(", ")
    : "none offered";
  return `${who}, ACP v${probe.protocolVersion}; capabilities: ${capabilityList(probe.capabilities)}; models: ${models}`;
}

/** The capabilities an agent advertises, e.g. `loadSession, session: close resume, prompt: image`. */
export function capabilityList(capabilities: acp.AgentCapabilities): string {
  const on = (record: object | null | undefined) =>
    Object.entries(record ?? {})
      .filter(([key, value]) => key !== "_meta" && value !== false && value !== null && value !== undefined)
      .map(([key]) => key)
      .sort();
  const groups: Array<[string, string[]]> = [
    ["session", on(capabilities.sessionCapabilities)],
    ["prompt", on(capabilities.promptCapabilities)],
    ["mcp", on(capabilities.mcpCapabilities)],
  ];
  const parts = [
    ...(capabilities.loadSession ? ["loadSession"] : []),
    ...groups.filter(([, keys]) => keys.length > 0).map(([label, keys]) => `${label}: ${keys.join(" ")}`),
  ];
  return parts.length > 0 ? parts.join(", ") : "none";
}

function telegramHint(err: unknown): string {
  const code = (err as { response?: { error_code?: number } }).response?.error_code;
  if (code === 401 || code === 404) return "check TELEGRAM_BOT_TOKEN (the token @BotFather gave you)";
  return "check TELEGRAM_API_ROOT and this machine's network";
}

function nearestExisting(dir: string): string {
  let current = dir;
  while (!fs.existsSync(current) && path.dirname(current) !== current) current = path.dirname(current);
  return current;
}

function fail(name: CheckResult["name"], detail: string): CheckResult {
  return { name, status: "fail", detail };
}

function skip(name: CheckResult["name"], detail: string): CheckResult {
  return { name, status: "skip", detail };
}
