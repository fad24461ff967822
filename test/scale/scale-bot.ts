// One process of the scale test: the real app (createApp) for ROLE=web, ROLE=worker or ROLE=all,
// its config from the environment like main.ts. A process that runs turns uses the in-process
// test ACP agent (state, and its event log, in SCALE_AGENT_DIR), so twelve slots of 2 s turns do
// not cost twelve node start-ups on a small machine. Prints `{"event":"ready","port":N}` on stdout
// once it listens and `{"event":"stopped"}` after a graceful stop (SIGTERM); logs go to stderr.
import { createApp } from "../../src/app.js";
import { configSecrets, createConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { inProcessAgent } from "../support/in-process-agent.js";

const say = (event: string, detail: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...detail })}\n`);

const config = createConfig(process.env, process.cwd(), { hostname: "scale" });
const logger = createLogger({
  level: config.logLevel,
  secrets: configSecrets(config),
  destination: { write: (line: string) => void process.stderr.write(line) },
});
const app = createApp(config, {
  env: process.env,
  cwd: process.cwd(),
  logger,
  launchAgent: inProcessAgent(["--state-dir", process.env.SCALE_AGENT_DIR ?? "", "--no-noise"]),
  onFatal: (err) => {
    process.stderr.write(`tg-acp: ${err.message}\n`);
    process.exit(1);
  },
});
try {
  const { port } = await app.start();
  say("ready", { port });
} catch (err) {
  process.stderr.write(`tg-acp: ${(err as Error).message}\n`);
  process.exit(1);
}
process.once("SIGTERM", () => {
  app.stop().then(
    () => {
      say("stopped");
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
