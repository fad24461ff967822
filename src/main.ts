import { config as loadDotenv } from "dotenv";
import { createApp } from "./app.js";
import { configSecrets, createConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { describeFatalError } from "./operator-error.js";

// The only module that touches the process: environment, signals, exit codes.
loadDotenv({ quiet: true });

function fail(err: unknown): never {
  process.stderr.write(`tg-acp: ${describeFatalError(err)}\n`);
  process.exit(1);
}

let config: ReturnType<typeof createConfig>;
try {
  config = createConfig(process.env, process.cwd());
} catch (err) {
  fail(err);
}

const logger = createLogger({
  level: config.logLevel,
  secrets: configSecrets(config),
  format: config.logPretty ? "pretty" : "json",
  colorize: process.stdout.isTTY === true,
});
const app = createApp(config, {
  env: process.env,
  cwd: process.cwd(),
  logger,
  onFatal: (err) => {
    process.stderr.write(`tg-acp: ${err.message}\n`);
    shutdown(1);
  },
});

let stopping = false;
/** Stops the app once (later calls are ignored), then exits with `code` (1 when stopping fails). */
function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  app.stop().then(
    () => process.exit(code),
    (err: unknown) => {
      logger.error({ err }, "stop failed");
      process.exit(1);
    },
  );
}
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (!stopping) logger.info({ signal }, "stopping");
    shutdown(0);
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
