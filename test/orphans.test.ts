import { spawn } from "node:child_process";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { endLeftoverAgents } from "../src/acp/leftover-agents.js";
import { processStartTime } from "../src/acp/process-sweep.js";
import { TEST_WEBHOOK_SECRET, testAppEnv } from "./support/app-fixture.js";
import { spawnBotProcess } from "./support/bot-process.js";
import { useBotHarness } from "./support/harness.js";
import { isAlive } from "./support/test-agent-command.js";
import { topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 77;
const events = (name: string) => h.agentEvents().filter((e) => e.event === name);

describe("no agent left behind", () => {
  it("ends a child that left the agent's process group (setsid) when the turn ends", async () => {
    const bot = await h.start({ agent: "subprocess", agentFlags: ["--setsid-child"] });
    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /echo: hello/);
    await bot.app.idle();
    const child = events("escaped")[0]?.childPid as number;
    expect(child).toEqual(expect.any(Number));
    expect(isAlive(child)).toBe(false);
  });

  it("ends, at the next start, the agent of a turn a SIGKILL of the bot left running", async () => {
    const flags = ["--ignore-stdin-close"];
    const env = testAppEnv({ apiRoot: h.api.url, dir: h.dir, agentFlags: flags, env: { LOG_LEVEL: "info" } });
    const crashed = await spawnBotProcess(env);
    await fetch(`http://127.0.0.1:${crashed.port}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET },
      body: JSON.stringify(topicTextUpdate("sleep 60000", { threadId: T })),
    });
    await h.api.until(() => events("prompt-start").length === 1);
    crashed.child.kill("SIGKILL");
    await new Promise((resolve) => crashed.child.once("exit", resolve));
    // Its stdin closed, but this agent lingers, as some real ones do.
    await h.api.until(() => events("lingering").length === 1);
    const agent = events("start")[0]?.pid as number;
    expect(isAlive(agent)).toBe(true);
    await h.start({ agent: "subprocess", agentFlags: flags });
    await h.api.until(() => !isAlive(agent), 10_000);
  });

  it("never signals a recorded pid that now belongs to another process", async () => {
    const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
      detached: true,
      stdio: "ignore",
    });
    const pid = other.pid as number;
    try {
      const markers = { instance: "test-instance", boot: "now" };
      const logger = pino({ level: "silent" });
      await endLeftoverAgents(
        [{ pid, startTime: "1", marker: "test-instance:then:1" }],
        markers,
        200,
        logger,
      );
      expect(isAlive(pid)).toBe(true);
      const startTime = processStartTime(pid) as string;
      await endLeftoverAgents([{ pid, startTime, marker: "test-instance:then:1" }], markers, 200, logger);
      await h.api.until(() => !isAlive(pid));
    } finally {
      other.kill("SIGKILL");
    }
  });
});
