import { config as loadDotenv } from "dotenv";
import { createApp } from "./app.js";
import { createConfig } from "./config.js";
import { createLogger } from "./logger.js";

// The only module that touches the process: environment, signals, exit codes.
loadDotenv({ quiet: true });

/** Errors whose message is a one-line instruction to the operator (bad config, agent, database...). */
const OPERATOR_ERRORS = new Set(["ConfigError", "StartupError", "AgentCommandError", "DatabaseOpenError"]);

function fail(err: unknown): never {
  const e = err as Error;
  process.stderr.write(`tg-acp: ${OPERATOR_ERRORS.has(e?.name) ? e.message : (e?.stack ?? String(err))}\n`);
  process.exit(1);
}

let config: ReturnType<typeof createConfig>;
try {
  config = createConfig(process.env);
} catch (err) {
  fail(err);
}

const logger = createLogger({
  level: config.logLevel,
  secrets: [config.telegram.botToken, config.telegram.webhookSecret],
  format: config.logPretty ? "pretty" : "json",
  colorize: process.stdout.isTTY === true,
});
const app = createApp(config, { env: process.env, logger });

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  });
}

try {
  await app.start();
} catch (err) {
  await app
    .stop()
    .catch((stopErr: unknown) => logger.error({ err: stopErr }, "stop after a failed start failed"));
  fail(err);
}
