import { spawn } from "node:child_process";

/** A command that exited non-zero (or could not start): argv, exit code and the tail of its output. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly output: string,
  ) {
    const tail = output.trimEnd().split("\n").slice(-25).join("\n");
    super(`${argv.join(" ")} exited with ${code ?? "a signal"}${tail ? `:\n${tail}` : ""}`);
  }
}

export type RunOptions = {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Streams the command's output to this process's stderr as it comes (long builds). */
  echo?: boolean;
  /** Resolves instead of rejecting on a non-zero exit. */
  allowFailure?: boolean;
  timeoutMs?: number;
};

export type RunResult = { code: number | null; stdout: string; stderr: string; ms: number };

/**
 * Runs `argv` without a shell and collects its output. Rejects with a {@link CommandError} on a
 * non-zero exit unless `allowFailure`; `ms` is the wall time.
 */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error("run: empty argv");
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let both = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      both += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      both += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            both += `\n(killed after ${options.timeoutMs} ms)`;
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new CommandError(argv, null, err.message));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr, ms: performance.now() - started };
      if (code === 0 || options.allowFailure) resolve(result);
      else reject(new CommandError(argv, code, both));
    });
    child.stdin.on("error", () => {}); // a command that exits without reading its input
    child.stdin.end(options.input);
  });
}

/** stdout of `argv`, trimmed. */
export async function output(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  return (await run(argv, options)).stdout.trim();
}

/** Seconds with one decimal, for figures. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
