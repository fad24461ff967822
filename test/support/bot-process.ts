import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { entryArgs } from "./entry.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs the real entry point (src/main.ts: its test bundle, or through tsx) as a child process with `env`, and resolves
 * once it logs that it listens, with the port it bound. For crash tests: the child can be killed.
 */
export async function spawnBotProcess(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, entryArgs("main", "src/main.ts"), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bot did not start: ${output}`)), 20_000);
    const check = () => {
      const line = output.split("\n").find((l) => l.includes("tg-acp is listening"));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the bot exited with ${code}: ${output}`));
    });
  });
  return { child, port, output: () => output };
}
