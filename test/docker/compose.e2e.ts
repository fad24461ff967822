/**
 * The image and docker-compose.yml under a real Docker engine (see global-setup.ts for the images):
 * `docker-compose up -d` with the real compose file made into a test file (host networking, no
 * ports), a mock Bot API on the host's 127.0.0.1, the bot's HEALTHCHECK, the user it runs as, the
 * /data volume, doctor, a restart on the same volume, and the one-line errors of a missing setting
 * and a read-only volume.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { megabytes } from "../../scripts/docker/app-image.js";
import { DOCKER } from "../../scripts/docker/engine.js";
import { output, run, seconds } from "../../scripts/docker/run.js";
import { createConfig } from "../../src/config.js";
import { PROGRESS_HEADER } from "../../src/telegram/progress-message.js";
import { AGENT_RECIPES } from "../agents/agents.js";
import { type FakeModel, startFakeModel } from "../support/fake-model.js";
import { type MockBotApi, startMockBotApi } from "../support/mock-bot-api.js";
import { FIXTURE_CHAT_ID, FIXTURE_USER_ID, topicTextUpdate } from "../support/updates.js";
import { type ComposeProject, composeProject } from "./compose-project.js";
import { containerProcesses, containerRss, sampleRss } from "./container-probe.js";
import { recordFigure } from "./figures.js";
import { freePort } from "./free-port.js";
import { AGENT, COMPOSE_PROJECT } from "./settings.js";

const { appImage, figuresFile } = inject("docker");
const figure = (name: string, value: string, note?: string) =>
  recordFigure(figuresFile, note === undefined ? { name, value } : { name, value, note });

const BOT_TOKEN = "7000000001:AAH-docker-test-0123456789abcdefghij";
const WEBHOOK_SECRET = "docker-test-secret_1";
const PUBLIC_URL = "https://tg-acp.example.test";

/** The last lines the container logged, for a failure message. */
async function logTail(project: ComposeProject, lines = 40): Promise<string> {
  return `container log:\n${(await project.logs()).split("\n").slice(-lines).join("\n")}`;
}

/** How the engine's health probe shows in a container's process list. */
const HEALTH_PROBE = "bash -c exec 3<>";

/** Polls `condition` every 200 ms until it holds; rejects after `timeoutMs` naming `what`. */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** The container's processes that are neither init, the bot, nor a health probe: the agents. */
async function agentProcesses(containerId: string) {
  return (await containerProcesses(containerId)).filter(
    (p) =>
      !p.command.startsWith("/sbin/docker-init") &&
      !p.command.startsWith("node dist/main.js") &&
      !p.command.startsWith(HEALTH_PROBE),
  );
}

/** One process's memory, bytes (0 when it is gone): resident, and anonymous (no file pages). */
async function processMemory(pid: number | undefined): Promise<{ rss: number; anon: number }> {
  const read = (file: string) =>
    pid === undefined
      ? Promise.resolve("")
      : fs.promises.readFile(`/proc/${pid}/${file}`, "utf8").catch(() => "");
  const kb = (text: string, field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb(await read("status"), "VmRSS"), anon: kb(await read("smaps_rollup"), "Anonymous") };
}

/** AGENT_WARM_SPARES as the image runs it: the config's default (the test's .env leaves it unset). */
const warmSpares = () =>
  createConfig({ TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET }, "/app").agent
    .warmSpares;

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-compose-"));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** The .env of a working bot against the mock Bot API at `apiRoot`. */
const botEnv = (apiRoot: string): Record<string, string> => ({
  TELEGRAM_BOT_TOKEN: BOT_TOKEN,
  TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
  TELEGRAM_API_ROOT: apiRoot,
  PUBLIC_URL,
  ALLOWED_USER_IDS: String(FIXTURE_USER_ID),
  ACP_AGENT_COMMAND: AGENT.command,
  LOG_LEVEL: "info",
});

/** The container's HOME (on the /data volume), where the agent's config and sessions live. */
const CONTAINER_HOME = "/data/home";
const TOPIC = 2391;

/**
 * The agent's side of the .env: the real-agents recipe (test/agents/agents.ts) for the fake model
 * at `modelUrl`, its config files written into `hostHome` and its paths moved to the container's HOME.
 */
function agentEnv(hostHome: string, modelUrl: string): Record<string, string> {
  const recipe = AGENT_RECIPES[AGENT.recipe];
  const env = recipe.configure(hostHome, modelUrl, recipe.defaultModel);
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, value.split(hostHome).join(CONTAINER_HOME)]),
  );
}

describe("docker-compose up with the real image and compose file", () => {
  let api: MockBotApi;
  let model: FakeModel;
  let project: ComposeProject;
  let port: number;
  const hostHome = path.join(workDir, "agent-home");

  beforeAll(async () => {
    api = await startMockBotApi();
    model = await startFakeModel();
    port = await freePort();
    project = composeProject({
      dir: path.join(workDir, "bot"),
      project: COMPOSE_PROJECT,
      image: appImage,
      port,
      env: { ...botEnv(api.url), ...agentEnv(hostHome, model.url) },
    });
    await project.down(true).catch(() => {}); // what an aborted earlier run left
  });
  afterAll(async () => {
    await project?.down(true);
    await api?.close();
    await model?.close();
  });

  /** What the user sees in the topic: each message's latest text, the progress message left out. */
  const answersIn = (threadId: number) =>
    api
      .messagesIn(threadId, FIXTURE_CHAT_ID)
      .map((m) => m.text)
      .filter((text) => !text.startsWith(PROGRESS_HEADER));

  /** POSTs an Update to the bot's webhook as Telegram does; resolves with the HTTP status. */
  const postUpdate = async (update: unknown) =>
    (
      await fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
        body: JSON.stringify(update),
      })
    ).status;

  it("puts the agent's config into HOME on the volume before the first start, as a login would land", async () => {
    // Before `up`: the bot spawns a warm spare agent (AGENT_WARM_SPARES) as it starts.
    const tarball = path.join(workDir, "agent-home.tar");
    await run(["tar", "-C", hostHome, "-cf", tarball, "."]);
    await project.compose(
      ["run", "--rm", "-T", "--entrypoint", "tar", project.service, "-x", "-C", CONTAINER_HOME],
      {
        input: fs.readFileSync(tarball),
      },
    );
    const foreign = await project.compose([
      "run",
      "--rm",
      "-T",
      "--entrypoint",
      "find",
      project.service,
      CONTAINER_HOME,
      "!",
      "-user",
      "node",
    ]);
    expect(foreign.stdout.trim()).toBe("");
  });

  it("reports healthy as soon as the bot serves (probes every 2 s); up -d returns and the bot serves", async () => {
    const before = performance.now();
    const upMs = await project.up();
    const healthyMs = await project.waitHealthy(before);
    const timeline = await project.startTimeline();
    const healthyAt = timeline.probes.find((probe) => probe.exitCode === 0)?.atMs ?? Number.NaN;
    const probes = timeline.probes.map((p) => `${seconds(p.atMs)} ${p.exitCode === 0 ? "ok" : "fail"}`);
    figure("up -d -> healthy", seconds(healthyMs), `docker-compose up -d itself ${seconds(upMs)}`);
    figure(
      "container start -> healthy",
      seconds(healthyAt),
      `the engine's clock; bot listening at ${seconds(timeline.listeningMs ?? Number.NaN)}; probes: ${probes.join(", ")}`,
    );
    // Structural, not a wall-clock bar (the time to healthy is a figure above, ~2 s on a quiet
    // machine): the image probes every 2 s, and the first probe that starts once the bot listens passes.
    const config = JSON.parse(await project.inspect("{{json .Config.Healthcheck}}")) as { Interval: number };
    expect(config.Interval).toBeLessThanOrEqual(2_000_000_000);
    const listening = timeline.listeningMs ?? Number.NaN;
    const firstAfter = timeline.probes.find((probe) => probe.startMs >= listening);
    expect(firstAfter?.exitCode, probes.join(", ")).toBe(0);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(api.webhook.url).toBe(`${PUBLIC_URL}/telegram/webhook`);
  });

  it("runs the bot as uid 1000 under docker-init, with the database and workspaces on /data", async () => {
    const id = await project.containerId();
    const processes = await containerProcesses(id);
    const init = processes.find((p) => p.command.startsWith("/sbin/docker-init -- "));
    const bot = processes.find((p) => p.command.startsWith("node dist/main.js"));
    expect(init, JSON.stringify(processes)).toBeDefined();
    expect(bot?.ppid).toBe(init?.pid);
    expect(bot?.uid).toBe(1000);
    expect((await project.exec(["id", "-u"])).stdout.trim()).toBe("1000");
    const listing = (await project.exec(["ls", "-1", "/data"])).stdout.split("\n");
    expect(listing).toEqual(expect.arrayContaining(["tg-acp.db", "workspaces", "home"]));
    const mounts = JSON.parse(await project.inspect("{{json .Mounts}}")) as Array<{
      Name?: string;
      Destination: string;
    }>;
    expect(mounts).toEqual([expect.objectContaining({ Name: project.volume, Destination: "/data" })]);
    await until(async () => (await agentProcesses(id)).length > 0, 60_000, "a warm spare agent process");
    await sleep(2_000); // the spare past initialize, settled
    const idle = await containerRss(id);
    const own = await processMemory(bot?.pid);
    figure(
      "container RSS idle",
      megabytes(idle.anon),
      `bot + ${warmSpares()} warm spare (the default); ${megabytes(idle.processes)} as the sum of its processes' RSS; the bot alone ${megabytes(own.anon)} (RSS ${megabytes(own.rss)})`,
    );
  });

  it("doctor in the container: every check passes", async () => {
    const result = await project.exec(["node", "dist/cli/doctor.js"], { allowFailure: true });
    const lines = result.stdout.trim().split("\n");
    expect(
      lines.map((line) => line.split(":")[0]),
      result.stdout + result.stderr,
    ).toEqual(["ok   config", "ok   database", "ok   agent", "ok   telegram", "ok   webhook"]);
    expect(lines[1]).toContain("/data/tg-acp.db");
    expect(lines[3]).toContain("@mock_test_bot");
    expect(lines[4]).toContain(`${PUBLIC_URL}/telegram/webhook`);
    expect(result.code).toBe(0);
  });

  it("answers a real Update in its topic: a turn of the real agent against the fake model", async () => {
    const id = await project.containerId();
    const rss = sampleRss(id);
    const started = performance.now();
    expect(
      await postUpdate(
        topicTextUpdate("Remember this number: 1234. Just confirm you memorized it.", { threadId: TOPIC }),
      ),
    ).toBe(200);
    const expected = ["Got it, I memorized 1234."];
    await api
      .until(() => JSON.stringify(answersIn(TOPIC)) === JSON.stringify(expected), 120_000)
      .catch(() => {});
    figure("turn: webhook -> answer in topic", seconds(performance.now() - started), AGENT.pkg);
    const peak = await rss.stop();
    figure(
      "container RSS during a turn (peak)",
      megabytes(peak.anon),
      `bot + agent; ${megabytes(peak.processes)} as the sum of its processes' RSS`,
    );
    expect(answersIn(TOPIC), await logTail(project)).toEqual(expected);
    expect(model.calls.some((call) => call.api === AGENT_RECIPES[AGENT.recipe].api)).toBe(true);
    // The topic's workspace, on the volume.
    const workspace = `/data/workspaces/${FIXTURE_CHAT_ID}/${TOPIC}/${FIXTURE_USER_ID}`;
    expect((await project.exec(["test", "-d", workspace], { allowFailure: true })).code).toBe(0);
  });

  it("leaves no zombie and no orphan after the turn: every process is the bot's or init's (docker-init reaps)", async () => {
    const id = await project.containerId();
    const problems = async () => {
      const processes = await containerProcesses(id);
      const byPid = new Map(processes.map((p) => [p.pid, p]));
      const init = processes.find((p) => p.command.startsWith("/sbin/docker-init -- "));
      const bot = processes.find((p) => p.command.startsWith("node dist/main.js"));
      const descendsFromBot = (p: (typeof processes)[number] | undefined): boolean =>
        p !== undefined && (p.pid === bot?.pid || descendsFromBot(byPid.get(p.ppid)));
      // Expected: init, the engine's health probes, the bot and what it spawned (a warm spare).
      return processes.filter(
        (p) =>
          p.stat.startsWith("Z") || !(p === init || p.command.startsWith(HEALTH_PROBE) || descendsFromBot(p)),
      );
    };
    // The turn's agent stops within AGENT_STOP_GRACE_MS (5 s) and twice that after SIGTERM.
    await until(async () => (await problems()).length === 0, 20_000, "no zombie and no orphan").catch(
      () => {},
    );
    expect(await problems(), JSON.stringify(await containerProcesses(id))).toEqual([]);
  });

  it("down, then up on the same volume: the topic remembers (the agent's session is restored)", async () => {
    const before = (await project.exec(["stat", "-c", "%i", "/data/tg-acp.db"])).stdout.trim();
    await project.down();
    const volumes = await output([DOCKER, "volume", "ls", "-q", "--filter", `name=${project.volume}`]);
    expect(volumes.split("\n")).toContain(project.volume);
    const started = performance.now();
    await project.up();
    figure("up -d -> healthy, second start", seconds(await project.waitHealthy(started)));
    expect((await project.exec(["stat", "-c", "%i", "/data/tg-acp.db"])).stdout.trim()).toBe(before);

    expect(
      await postUpdate(topicTextUpdate("What number did I ask you to remember?", { threadId: TOPIC })),
    ).toBe(200);
    const expected = ["Got it, I memorized 1234.", "You asked me to remember 1234."];
    await api
      .until(() => JSON.stringify(answersIn(TOPIC)) === JSON.stringify(expected), 120_000)
      .catch(() => {});
    expect(answersIn(TOPIC), await logTail(project)).toEqual(expected);
  });

  it("a read-only /data volume stops start-up with the one-line database error", async () => {
    await project.down();
    const readOnly = composeProject({
      dir: path.join(workDir, "read-only"),
      project: COMPOSE_PROJECT,
      image: appImage,
      port,
      env: botEnv(api.url),
      readOnlyData: true,
    });
    try {
      await readOnly.up();
      const lines = await exitLines(readOnly);
      figure("read-only /data, logs", lines[0] ?? "(nothing)");
      expect(lines[0]).toMatch(
        /^tg-acp: DATABASE_PATH \/data\/tg-acp\.db cannot be (opened|migrated): .*read-?only/i,
      );
    } finally {
      await readOnly.down();
    }
  });
});

/**
 * Waits for the container's first exit (it restarts: restart: unless-stopped) and returns what it
 * printed on its own lines, JSON log lines left out.
 */
async function exitLines(project: ComposeProject): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const restarts = Number(await project.inspect("{{.RestartCount}}"));
    const status = await project.inspect("{{.State.Status}}");
    if (restarts > 0 || status === "exited" || status === "restarting") break;
    if (Date.now() > deadline) throw new Error(`the container did not exit; logs:\n${await project.logs()}`);
    await sleep(100);
  }
  return (await project.logs())
    .split("\n")
    .map((line) => line.replace(/^\S+\s+\|\s?/, ""))
    .filter((line) => line.trim() !== "" && !line.startsWith("{") && !line.startsWith("Attaching to"));
}

describe("a full /data volume (a tmpfs of 48 KB)", () => {
  let lines: string[] = [];

  it("stops start-up with the database error", async () => {
    const project = composeProject({
      dir: path.join(workDir, "full"),
      project: `${COMPOSE_PROJECT}-full`,
      image: appImage,
      port: await freePort(),
      env: botEnv("http://127.0.0.1:9"),
      dataVolumeOptions: { type: "tmpfs", device: "tmpfs", o: "size=48k,uid=1000,gid=1000,mode=0700" },
    });
    try {
      await project.up();
      lines = await exitLines(project);
      figure("full /data, logs", lines.slice(0, 2).join(" | "));
      expect(lines[0]).toMatch(/^tg-acp: DATABASE_PATH \/data\/tg-acp\.db cannot be (opened|migrated): /);
    } finally {
      await project.down(true);
    }
  });

  // Drizzle's "Failed to run the query '<the SQL, over several lines>'" hides SQLite's SQLITE_FULL
  // in its `cause`: the one line names the cause.
  it("says so in one line naming the full disk", () => {
    expect(lines[0]).toBe(
      "tg-acp: DATABASE_PATH /data/tg-acp.db cannot be migrated: database or disk is full",
    );
    expect(lines.filter((line) => line.startsWith("tg-acp: ")).length).toBe(lines.length);
  });
});

describe("a .env without TELEGRAM_BOT_TOKEN", () => {
  it("the container exits with the config error, restarting no faster than the engine's backoff", async () => {
    const env = botEnv("http://127.0.0.1:9");
    const { TELEGRAM_BOT_TOKEN: _token, ...withoutToken } = env;
    const project = composeProject({
      dir: path.join(workDir, "no-token"),
      project: `${COMPOSE_PROJECT}-no-token`,
      image: appImage,
      port: await freePort(),
      env: withoutToken,
    });
    try {
      await project.up();
      const watchedMs = 6_000;
      await sleep(watchedMs);
      const restarts = Number(await project.inspect("{{.RestartCount}}"));
      const lines = await exitLines(project);
      // The engine's backoff doubles from 100 ms: at most ~7 starts in 6 s (0.1+0.2+...+3.2 s).
      figure("restarts in 6 s, missing token", String(restarts), "restart: unless-stopped, engine backoff");
      expect(restarts).toBeGreaterThanOrEqual(2);
      expect(restarts).toBeLessThanOrEqual(7);
      figure("missing token, logs", `${lines.length} x ${lines[0] ?? "(nothing)"}`);
      expect(new Set(lines)).toEqual(
        new Set(["tg-acp: TELEGRAM_BOT_TOKEN is required (the token @BotFather gave you)"]),
      );
      expect(lines.length).toBeGreaterThanOrEqual(restarts);
    } finally {
      await project.down(true);
    }
  });
});
