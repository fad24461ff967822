import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { run } from "./run.js";

/**
 * Debian's engine, its compose v1 and debootstrap, by the command each provides. The Debian
 * docker.io package's own client (/usr/bin/docker) is used even when another docker client comes
 * first on PATH: a newer client may insist on buildx, which Debian's 20.10 engine does not ship.
 */
export const TOOLS = {
  docker: { file: "/usr/bin/docker", pkg: "docker.io" },
  dockerd: { file: "/usr/sbin/dockerd", pkg: "docker.io" },
  compose: { file: "/usr/bin/docker-compose", pkg: "docker-compose" },
  debootstrap: { file: "/usr/sbin/debootstrap", pkg: "debootstrap" },
} as const;

export const DOCKER = TOOLS.docker.file;
export const COMPOSE = TOOLS.compose.file;

const isRoot = () => process.getuid?.() === 0;

/**
 * Installs with apt-get the Debian packages whose command is missing; resolves with the packages it
 * installed. Throws one line when that is needed but this process is not root.
 */
export async function ensureDebianPackages(log: (line: string) => void): Promise<string[]> {
  const missing = [
    ...new Set(
      Object.values(TOOLS)
        .filter((tool) => !fs.existsSync(tool.file))
        .map((tool) => tool.pkg),
    ),
  ];
  if (missing.length === 0) return [];
  if (!isRoot()) throw new Error(`missing ${missing.join(", ")} and not root: cannot apt-get install them`);
  log(`installing ${missing.join(" ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run(["apt-get", "update", "-qq"], { env });
  await run(["apt-get", "install", "-y", "-qq", ...missing], { env });
  return missing;
}

export type Engine = {
  /** The engine's version, e.g. 20.10.24+dfsg1. */
  version: string;
  /** True when this process started dockerd (and `stop` will stop it). */
  started: boolean;
  stop(): Promise<void>;
};

const engineVersion = async () => {
  const result = await run([DOCKER, "version", "--format", "{{.Server.Version}}"], {
    allowFailure: true,
    timeoutMs: 10_000,
  });
  return result.code === 0 ? result.stdout.trim() : undefined;
};

/**
 * A running Docker engine: the one already serving /var/run/docker.sock, or a dockerd this process
 * starts (its log in `logDir`/dockerd.log) and `stop()` ends with SIGTERM. Throws one line saying why
 * when the engine cannot start (not root, or the kernel refuses what dockerd needs).
 */
export async function ensureEngine(logDir: string): Promise<Engine> {
  const running = await engineVersion();
  if (running) return { version: running, started: false, stop: async () => {} };
  if (!isRoot())
    throw new Error("the Docker engine cannot start: dockerd must run as root, and this is not root");

  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, "dockerd.log");
  const logFd = fs.openSync(logFile, "w");
  const dockerd = spawn(TOOLS.dockerd.file, [], { detached: true, stdio: ["ignore", logFd, logFd] });
  fs.closeSync(logFd);
  let exited: number | null | undefined;
  dockerd.once("exit", (code) => {
    exited = code;
  });
  dockerd.unref();

  const deadline = Date.now() + 60_000;
  for (;;) {
    const version = await engineVersion();
    if (version) {
      return {
        version,
        started: true,
        async stop() {
          if (exited !== undefined) return;
          dockerd.kill("SIGTERM");
          const until = Date.now() + 30_000;
          while (exited === undefined && Date.now() < until) await sleep(100);
          if (exited === undefined) dockerd.kill("SIGKILL");
        },
      };
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) dockerd.kill("SIGKILL");
      const lines = fs.readFileSync(logFile, "utf8").trim().split("\n");
      const reason =
        lines.filter((line) => /level=(fatal|error)|failed to start|permission denied/i.test(line)).at(-1) ??
        lines.at(-1) ??
        "no output";
      throw new Error(
        `the Docker engine cannot start here (dockerd ${exited === undefined ? "did not answer within 60 s" : `exited with ${exited}`}): ${reason.trim()}`,
      );
    }
    await sleep(200);
  }
}
