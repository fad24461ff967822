import { config as loadDotenv } from "dotenv";
import { describeFatalError } from "../operator-error.js";

/**
 * Runs a command-line entry like src/main.ts runs the bot: loads `.env` (the environment wins), calls
 * `main` with the environment and working directory, and exits with the code it resolves to. A thrown operator error
 * (ConfigError, StartupError...) is printed as one line `<name>: <message>` on stderr, anything else
 * with its stack; both exit 1.
 */
export async function runCli(
  name: string,
  main: (env: NodeJS.ProcessEnv, cwd: string) => Promise<number>,
): Promise<never> {
  loadDotenv({ quiet: true });
  let code: number;
  try {
    code = await main(process.env, process.cwd());
  } catch (err) {
    process.stderr.write(`${name}: ${describeFatalError(err)}\n`);
    code = 1;
  }
  // Let stdout drain before exiting (it is asynchronous when piped).
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  process.exit(code);
}
