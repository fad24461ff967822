import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const SERVE = fileURLToPath(new URL("./serve.ts", import.meta.url));
const TSX_LOADER = fileURLToPath(new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url));

/** A benchmark server in a child process (scripts/bench/serve.ts): its port, stats, and a way to stop it. */
export type ChildServer = {
  port: number;
  pid: number;
  /** The child's RSS (bytes) and the turns its stub runner counted. */
  stats(): Promise<{ rss: number; enqueued: number }>;
  stop(): Promise<void>;
};

/** Starts `serve.ts <target>` with `env` added to this process's environment; resolves once it listens. */
export async function startChildServer(
  target: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child: ChildProcess = fork(SERVE, [target], {
    execArgv: ["--import", TSX_LOADER],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [first] = (await once(child, "message")) as [{ port: number }];
  return {
    port: first.port,
    pid: child.pid ?? -1,
    async stats() {
      child.send("stats");
      const [stats] = (await once(child, "message")) as [{ rss: number; enqueued: number }];
      return stats;
    },
    async stop() {
      const exited = once(child, "exit");
      child.send("stop");
      await exited;
    },
  };
}
