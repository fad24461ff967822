/**
 * `npm run webhook:info` prints the bot's webhook as Telegram sees it (Bot API getWebhookInfo);
 * `npm run webhook:delete [-- --drop-pending-updates]` removes it (Bot API deleteWebhook).
 * Reads TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT like the bot (environment, then .env).
 */
import { parseArgs } from "node:util";
import { Telegram } from "telegraf";
import { configSecrets, createConfig } from "../config.js";
import { redactedMessage } from "../redact.js";
import { runCli } from "./run-cli.js";
import { describeWebhookInfo } from "./webhook-info.js";

const USAGE = "usage: webhook info | webhook delete [--drop-pending-updates]";

await runCli("tg-acp webhook", async (env, cwd) => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { "drop-pending-updates": { type: "boolean", default: false } },
  });
  const [command] = positionals;
  if (positionals.length !== 1 || (command !== "info" && command !== "delete")) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = createConfig(env, cwd);
  const telegram = new Telegram(config.telegram.botToken, { apiRoot: config.telegram.apiRoot });
  const secrets = configSecrets(config);
  try {
    if (command === "info") {
      const info = await telegram.getWebhookInfo();
      process.stdout.write(`${describeWebhookInfo(info, new Date()).join("\n")}\n`);
    } else {
      await telegram.deleteWebhook({ drop_pending_updates: values["drop-pending-updates"] });
      process.stdout.write(
        `webhook deleted${values["drop-pending-updates"] ? " (pending updates dropped)" : ""}\n`,
      );
    }
  } catch (err) {
    process.stderr.write(`tg-acp webhook: Telegram ${command} failed: ${redactedMessage(err, secrets)}\n`);
    return 1;
  }
  return 0;
});
