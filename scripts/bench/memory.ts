/**
 * The bot's resident memory (RSS of its own process, agents excluded), as `npm start` runs it
 * (`node dist/main.js`, LOG_LEVEL=info): idle after start-up, and at its peak while turns in 50 forum
 * topics are in flight (the test agent answers "sleep 10000", so the agent processes overlap).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { TEST_WEBHOOK_SECRET, testAppEnv } from "../../test/support/app-fixture.js";
import { startMockBotApi } from "../../test/support/mock-bot-api.js";
import { makeTempDir } from "../../test/support/temp-dir.js";
import { readAgentEvents } from "../../test/support/test-agent-command.js";
import { topicTextUpdate } from "../../test/support/updates.js";

/** RSS in bytes; `agentsAtOnce` is the most agent processes that were running at the same time. */
export type MemoryResult = {
  idleRss: number;
  busyRss: number;
  topics: number;
  answered: number;
  agentsAtOnce: number;
};

const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const SLEEP_MS = 10_000;

/** RSS of a process in bytes, from `ps` (KiB). */
function rssOf(pid: number): number {
  return Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim()) * 1024;
}

/** Starts dist/main.js with `env`; resolves with the port from its "tg-acp is listening" log line. */
async function startMain(
  env: Record<string, string>,
  cwd: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: child.stdout })) {
    const entry = JSON.parse(line) as { msg?: string; port?: number };
    if (entry.msg === "tg-acp is listening" && entry.port !== undefined) {
      child.stdout.resume(); // keep draining the log
      return { child, port: entry.port };
    }
  }
  throw new Error("dist/main.js exited before it listened");
}

/** Starts the bot, samples its RSS idle, then with `topics` turns in flight, until all are answered. */
export async function measureMemory(topics = 50): Promise<MemoryResult> {
  const temp = makeTempDir("tg-acp-bench-rss-");
  const api = await startMockBotApi();
  const env = testAppEnv({
    apiRoot: api.url,
    dir: temp.dir,
    agentFlags: ["--no-noise"],
    env: { LOG_LEVEL: "info" },
  });
  const { child, port } = await startMain(env, temp.dir);
  const pid = child.pid as number;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idleRss = rssOf(pid);
    await Promise.all(
      Array.from({ length: topics }, (_, i) =>
        fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET,
          },
          body: JSON.stringify(topicTextUpdate(`sleep ${SLEEP_MS}`, { threadId: 20_000 + i })),
        }).then((res) => res.arrayBuffer()),
      ),
    );
    let busyRss = 0;
    const deadline = Date.now() + 120_000;
    while (api.callsOf("sendMessage").length < topics && Date.now() < deadline) {
      busyRss = Math.max(busyRss, rssOf(pid));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      idleRss,
      busyRss,
      topics,
      answered: api.callsOf("sendMessage").length,
      agentsAtOnce: mostAtOnce(temp.dir),
    };
  } finally {
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
    await api.close();
    temp.cleanup();
  }
}

/** The most test agent processes alive at once, from their start and exit events. */
function mostAtOnce(dir: string): number {
  const events = readAgentEvents(path.join(dir, "agent"))
    .filter((e) => e.event === "start" || e.event === "exit")
    .sort((a, b) => a.at - b.at);
  let alive = 0;
  let most = 0;
  for (const e of events) {
    alive += e.event === "start" ? 1 : -1;
    most = Math.max(most, alive);
  }
  return most;
}

/**
 * (h) RSS of the bot plus its warm spares, idle: `node dist/main.js` with AGENT_WARM_SPARES=`spares`,
 * once every spare is past initialize; the bot's RSS and the sum over its live agent processes.
 */
export async function measureIdleWithSpares(spares: number): Promise<{ botRss: number; agentsRss: number }> {
  const temp = makeTempDir("tg-acp-bench-rss-");
  const api = await startMockBotApi();
  const env = testAppEnv({
    apiRoot: api.url,
    dir: temp.dir,
    agentFlags: ["--no-noise"],
    env: { LOG_LEVEL: "info", AGENT_WARM_SPARES: String(spares) },
  });
  const { child } = await startMain(env, temp.dir);
  const events = () => readAgentEvents(path.join(temp.dir, "agent"));
  try {
    const deadline = Date.now() + 60_000;
    while (events().filter((e) => e.event === "initialized").length < spares && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const agents = events()
      .filter((e) => e.event === "start")
      .map((e) => e.pid)
      .filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
    return {
      botRss: rssOf(child.pid as number),
      agentsRss: agents.reduce((sum, pid) => sum + rssOf(pid), 0),
    };
  } finally {
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
    await api.close();
    temp.cleanup();
  }
}
