import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { COMPOSE, DOCKER } from "../../scripts/docker/engine.js";
import { output, type RunOptions, run } from "../../scripts/docker/run.js";
import { testComposeFile } from "../../scripts/docker/test-compose.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * A compose project in `dir`: the test's compose file derived from the real docker-compose.yml (see
 * scripts/docker/test-compose.ts) and the `.env` it reads, driven with Debian's docker-compose v1.
 */
export function composeProject(options: {
  dir: string;
  project: string;
  image: string;
  port: number;
  env: Record<string, string>;
  readOnlyData?: boolean;
  dataVolumeOptions?: Record<string, string>;
}) {
  fs.mkdirSync(options.dir, { recursive: true });
  const derived = testComposeFile(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), {
    image: options.image,
    port: options.port,
    readOnlyData: options.readOnlyData ?? false,
    ...(options.dataVolumeOptions ? { dataVolumeOptions: options.dataVolumeOptions } : {}),
  });
  const file = path.join(options.dir, "docker-compose.yml");
  fs.writeFileSync(file, derived.yaml);
  fs.writeFileSync(
    path.join(options.dir, ".env"),
    `${Object.entries(options.env)
      .map(([name, value]) => `${name}=${value}`)
      .join("\n")}\n`,
    { mode: 0o600 },
  );
  const compose = (args: string[], runOptions: RunOptions = {}) =>
    run([COMPOSE, "--ansi", "never", "-p", options.project, "-f", file, ...args], {
      cwd: options.dir,
      timeoutMs: 180_000,
      ...runOptions,
    });

  const containerId = async () => {
    const id = (
      await output([COMPOSE, "-p", options.project, "-f", file, "ps", "-q", derived.service])
    ).trim();
    if (!id) throw new Error(`no container of service ${derived.service} in project ${options.project}`);
    return id;
  };
  const inspect = async (format: string) =>
    output([DOCKER, "inspect", "--format", format, await containerId()]);

  return {
    service: derived.service,
    /** The named volume as the engine calls it (compose prefixes the project). */
    volume: `${options.project}_${derived.volume}`,
    compose,
    containerId,
    inspect,
    /** `docker-compose exec -T <service> ...args` (as the image's user unless `user`). */
    exec: (args: string[], runOptions: RunOptions & { user?: string } = {}) =>
      compose(
        ["exec", "-T", ...(runOptions.user ? ["-u", runOptions.user] : []), derived.service, ...args],
        runOptions,
      ),
    /** `up -d`; resolves with the time it took, ms. */
    up: async () => (await compose(["up", "-d"])).ms,
    down: async (removeVolumes = false) => {
      await compose(["down", ...(removeVolumes ? ["-v"] : []), "--timeout", "70"]);
    },
    logs: async () => {
      const result = await compose(["logs", "--no-color", derived.service]);
      return result.stdout + result.stderr;
    },
    /**
     * The engine's own times since the container started, ms: each health probe (when it ended, its
     * exit code) and the bot's "tg-acp is listening" log line.
     */
    async startTimeline() {
      const state = JSON.parse(await inspect("{{json .State}}")) as {
        StartedAt: string;
        Health?: { Log: Array<{ Start: string; End: string; ExitCode: number }> };
      };
      const startedAt = Date.parse(state.StartedAt);
      const listening = (await this.logs())
        .split("\n")
        .map((line) => /"time":(\d+),.*"msg":"tg-acp is listening"/.exec(line)?.[1])
        .find((time) => time !== undefined);
      return {
        probes: (state.Health?.Log ?? []).map((entry) => ({
          startMs: Date.parse(entry.Start) - startedAt,
          atMs: Date.parse(entry.End) - startedAt,
          exitCode: entry.ExitCode,
        })),
        listeningMs: listening === undefined ? undefined : Number(listening) - startedAt,
      };
    },
    /**
     * Waits until the container's HEALTHCHECK reports healthy; resolves with the time since `since`
     * (a performance.now() value), ms. Fails at once when it reports unhealthy or the container stops.
     */
    async waitHealthy(since: number, timeoutMs = 60_000): Promise<number> {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const [status, health] = (
          await inspect("{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}")
        ).split(" ");
        if (health === "healthy") return performance.now() - since;
        if (health === "unhealthy" || (status !== "running" && status !== "created")) {
          throw new Error(`container is ${status} ${health ?? ""}; logs:\n${await this.logs()}`);
        }
        if (performance.now() > deadline)
          throw new Error(`not healthy within ${timeoutMs} ms; logs:\n${await this.logs()}`);
        await sleep(50);
      }
    },
  };
}

export type ComposeProject = ReturnType<typeof composeProject>;
