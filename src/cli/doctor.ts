/**
 * `npm run doctor`: checks configuration, database, agent and Telegram (see doctor-checks.ts) and prints
 * one line per check. Exit code 0 when every check is ok, 1 otherwise.
 */
import { formatCheck, runDoctor } from "./doctor-checks.js";
import { runCli } from "./run-cli.js";

await runCli("tg-acp doctor", async (env, cwd) => {
  const results = await runDoctor({ env, cwd });
  process.stdout.write(`${results.map(formatCheck).join("\n")}\n`);
  return results.every((r) => r.status === "ok") ? 0 : 1;
});
