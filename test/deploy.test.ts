/**
 * These tests read Dockerfile, docker-compose.yml and deploy/Caddyfile and check that they agree with
 * the app (port, volume, variable names, health check and webhook paths); the health probe runs for
 * real against the app. `npm run test:docker` runs the image itself under a Docker engine.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { type Arg, DockerfileParser, type Instruction, type Property } from "dockerfile-ast";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_ENV_NAMES, createConfig } from "../src/config.js";
import { createHttpApp } from "../src/http/server.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** Variables the image sets for the processes it runs rather than for the app's configuration. */
const PROCESS_ENV_NAMES = new Set(["HOME"]);

const dockerfile = DockerfileParser.parse(read("Dockerfile"));
const instructions = dockerfile.getInstructions();
/** The instructions of each build stage, by stage name. */
const stages = new Map<string, Instruction[]>();
{
  let current: Instruction[] | undefined;
  for (const instruction of instructions) {
    if (instruction.getKeyword() === "FROM") {
      current = [];
      stages.set(
        dockerfile
          .getFROMs()
          .find((f) => f === instruction)
          ?.getBuildStage() ?? "",
        current,
      );
    }
    current?.push(instruction);
  }
}
const runtime = [...stages.values()].at(-1) ?? [];
const keyword = (list: Instruction[], name: string) => list.filter((i) => i.getKeyword() === name);
const argDefault = (name: string) => {
  const arg = dockerfile
    .getARGs()
    .map((a: Arg) => a.getProperty())
    .find((p) => p?.getName() === name);
  return arg?.getValue()?.replace(/^"(.*)"$/, "$1");
};
const imageEnv: Record<string, string> = Object.fromEntries(
  dockerfile
    .getENVs()
    .filter((env) => runtime.includes(env))
    .flatMap((env) => env.getProperties())
    .map((p: Property) => [p.getName(), p.getValue() ?? ""]),
);

/** The HEALTHCHECK's command: `bash -c <script>`; returns the script. */
const healthProbe = () => {
  const [healthcheck] = dockerfile.getHEALTHCHECKs();
  const command = JSON.parse(
    healthcheck?.getArgumentsContent()?.replace(/^CMD\s+/, "") ?? "null",
  ) as string[];
  expect(command.slice(0, 2)).toEqual(["bash", "-c"]);
  return command[2] ?? "";
};
/** The probe's exit code with PORT=`port`, as the engine runs it (async: the server is this process). */
const runProbe = (script: string, port: number) =>
  new Promise<number | null>((resolve) => {
    const probe = spawn("bash", ["-c", script], {
      env: { PORT: String(port) },
      stdio: "ignore",
      timeout: 10_000,
    });
    probe.once("exit", (code) => resolve(code));
  });
/** A Docker duration ("2s", "500ms", "1m") in seconds. */
const durationS = (value: string | undefined) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value ?? "");
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as "ms" | "s" | "m"];
};

type ComposeService = {
  build?: { context?: string; args?: Record<string, string> };
  env_file?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  init?: boolean;
  restart?: string;
};
const compose = parseYaml(read("docker-compose.yml")) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = Object.values(compose.services);
const service = services[0] as ComposeService;
const [hostBinding, containerPort] = (() => {
  const [ip, hostPort, inside] = String(service.ports?.[0]).split(":");
  return [{ ip, port: Number(hostPort) }, Number(inside)];
})();
const [volumeName, volumeTarget] = String(service.volumes?.[0]).split(":");

/**
 * The configuration the container runs with, as Docker merges it: the image's ENV, overridden by the
 * env_file (here what a .env copied from .env.example says, with a local HOST), overridden by
 * compose's environment.
 */
const containerConfig = () =>
  createConfig(
    {
      ...imageEnv,
      TELEGRAM_BOT_TOKEN: "123456789:AAH-abcdefghijklmnopqrstuvwxyz_0123",
      TELEGRAM_WEBHOOK_SECRET: "s3cret_token-1",
      DATABASE_PATH: "./data/tg-acp.db",
      WORKSPACE_BASE_PATH: "./data/workspaces",
      HOST: "127.0.0.1",
      PORT: "3000",
      ...service.environment,
    },
    "/app",
  );

describe("Dockerfile", () => {
  it("builds in two stages on node:22-bookworm-slim, compiling better-sqlite3 in the build stage", () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.getImage()?.replace(/^\$\{(\w+)\}$/, (_, name: string) => argDefault(name) ?? "");
      expect(image).toBe("node:22-bookworm-slim");
    }
    const build = stages.get("build") ?? [];
    expect(keyword(build, "RUN").map((r) => r.getArgumentsContent())).toContainEqual(
      expect.stringMatching(/apt-get install .*\bpython3 make g\+\+/),
    );
    expect(keyword(build, "RUN").map((r) => r.getArgumentsContent())).toContainEqual(
      expect.stringMatching(/npm ci\b/),
    );
    expect(keyword(runtime, "COPY").map((c) => c.getArgumentsContent())).toEqual(
      expect.arrayContaining(["/app/node_modules ./node_modules", "/app/dist ./dist", "drizzle ./drizzle"]),
    );
  });

  it("runs as a non-root user the package's entry point", () => {
    const users = keyword(runtime, "USER").map((u) => u.getArgumentsContent());
    expect(users).toHaveLength(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
    const cmd = JSON.parse(keyword(runtime, "CMD")[0]?.getArgumentsContent() ?? "null");
    const pkg = JSON.parse(read("package.json")) as { main: string };
    expect(cmd).toEqual(["node", pkg.main]);
  });

  it("sets only variables the config schema knows (or HOME), and they parse", () => {
    const names = [...Object.keys(imageEnv), ...Object.keys(service.environment ?? {})];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(
        CONFIG_ENV_NAMES.includes(name) || PROCESS_ENV_NAMES.has(name),
        `${name} is not a config variable`,
      ).toBe(true);
    }
    expect(() => containerConfig()).not.toThrow();
  });

  it("keeps the database, the workspaces and HOME on the /data volume", () => {
    const volumes = keyword(runtime, "VOLUME").map((v) => v.getArgumentsContent());
    expect(volumes).toEqual(["/data"]);
    const config = containerConfig();
    expect(config.databasePath).toBe("/data/tg-acp.db");
    expect(config.workspaceBasePath).toBe("/data/workspaces");
    expect(imageEnv.HOME?.startsWith("/data/")).toBe(true);
  });

  it("health-checks GET /healthz on the configured port: the probe passes on the app's 200 only", async () => {
    const script = healthProbe();
    const url = /\/dev\/tcp\/127\.0\.0\.1\/\$\{PORT:-(\d+)\}.*GET (\/\w+) HTTP\/1\.[01]\b/.exec(script);
    expect(url, script).not.toBeNull();
    const [, fallbackPort, healthPath = ""] = url as RegExpExecArray;
    const config = containerConfig();
    expect(Number(fallbackPort)).toBe(config.http.port);
    const app = createHttpApp({
      webhookPath: config.http.webhookPath,
      webhookSecret: config.telegram.webhookSecret,
      dispatch: async () => {},
      logger: pino({ level: "silent" }),
    });
    expect((await app.request(healthPath)).status).toBe(200);
    expect((await app.request("/no-such-path")).status).toBe(404);

    // The probe itself, with bash as the image runs it: against the app on a real port, against a
    // server answering 503 and against a port where nothing listens.
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
    const failing = http.createServer((_req, res) => res.writeHead(503).end("starting"));
    await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
    try {
      const appPort = (server.address() as AddressInfo).port;
      const failingPort = (failing.address() as AddressInfo).port;
      expect(await runProbe(script, appPort)).toBe(0);
      expect(await runProbe(script, failingPort)).not.toBe(0);
      await new Promise((resolve) => failing.close(resolve));
      expect(await runProbe(script, failingPort)).not.toBe(0);
    } finally {
      server.close();
      failing.close();
    }
  });

  it("probes every few seconds from the start, so the container is healthy within 5 s", () => {
    const [healthcheck] = dockerfile.getHEALTHCHECKs();
    const flags = Object.fromEntries(
      (healthcheck?.getFlags() ?? []).map((flag) => [flag.getName(), flag.getValue() ?? ""]),
    );
    // The first probe comes one interval after start, failures count only after the start period;
    // Debian's engine (20.10) rejects --start-interval.
    expect(Object.keys(flags)).not.toContain("start-interval");
    expect(durationS(flags.interval)).toBeLessThanOrEqual(3);
    expect(durationS(flags.timeout)).toBeLessThanOrEqual(durationS(flags.interval));
    expect(durationS(flags["start-period"])).toBeGreaterThanOrEqual(10);
  });

  it("exposes the port the app listens on, on all interfaces of the container", () => {
    const config = containerConfig();
    expect(keyword(runtime, "EXPOSE").map((e) => Number(e.getArgumentsContent()))).toEqual([
      config.http.port,
    ]);
    expect(config.http.host).toBe("0.0.0.0");
  });
});

describe("docker-compose.yml", () => {
  it("has one service that reads .env, restarts unless stopped and runs an init process", () => {
    expect(services).toHaveLength(1);
    expect([service.env_file].flat()).toEqual([".env"]);
    expect(service.restart).toBe("unless-stopped");
    expect(service.init).toBe(true);
  });

  it("publishes the app's port on 127.0.0.1 only, for a TLS proxy in front", () => {
    expect(service.ports).toHaveLength(1);
    expect(hostBinding.ip).toBe("127.0.0.1");
    expect(containerPort).toBe(containerConfig().http.port);
  });

  it("mounts a named volume on the image's /data", () => {
    expect(service.volumes).toHaveLength(1);
    expect(volumeTarget).toBe("/data");
    expect(Object.keys(compose.volumes ?? {})).toEqual([volumeName]);
  });

  it("builds with the Dockerfile's AGENT_INSTALL default unless the shell or .env sets another", () => {
    const arg = service.build?.args?.AGENT_INSTALL;
    expect(arg).toBe(`\${AGENT_INSTALL:-${argDefault("AGENT_INSTALL")}}`);
    expect(argDefault("AGENT_INSTALL")).toBe("npm install -g @agentclientprotocol/claude-agent-acp");
  });
});

describe("deploy/Caddyfile", () => {
  it("forwards the app's webhook path to the published port, where the app accepts Updates", async () => {
    const caddyfile = read("deploy/Caddyfile");
    const handle = /handle (\/\S+) \{\s*reverse_proxy 127\.0\.0\.1:(\d+)\s*\}/.exec(caddyfile);
    expect(handle).not.toBeNull();
    const [, forwardedPath, upstreamPort] = handle as RegExpExecArray;
    const config = containerConfig();
    expect(forwardedPath).toBe(config.http.webhookPath);
    expect(Number(upstreamPort)).toBe(hostBinding.port);

    const dispatched: unknown[] = [];
    const app = createHttpApp({
      webhookPath: config.http.webhookPath,
      webhookSecret: config.telegram.webhookSecret,
      dispatch: async (update) => void dispatched.push(update),
      logger: pino({ level: "silent" }),
    });
    const res = await app.request(forwardedPath ?? "", {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "s3cret_token-1" },
      body: '{"update_id":1}',
    });
    expect(res.status).toBe(200);
    expect(dispatched).toEqual([{ update_id: 1 }]);
  });
});

describe(".dockerignore", () => {
  it("keeps secrets, local data and installed modules out of the build context", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining([".env", "node_modules", "data", "dist", "*.db"]));
  });
});

describe("npm run db:studio", () => {
  it("listens on 127.0.0.1 only (drizzle-kit's default is every interface), for an SSH tunnel", () => {
    const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
    expect(pkg.scripts["db:studio"]).toMatch(/^drizzle-kit studio\b.*--host 127\.0\.0\.1\b/);
  });
});
