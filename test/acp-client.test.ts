import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentTurnError, createAcpClient, type TurnCallbacks } from "../src/acp/acp-client.js";
import { makeTempDir } from "./support/temp-dir.js";
import { isAlive, readAgentEvents, testAgentArgv } from "./support/test-agent-command.js";

const logger = pino({ level: "silent" });
let temp: ReturnType<typeof makeTempDir>;
let stateDir: string;
let cwd: string;

beforeEach(() => {
  temp = makeTempDir();
  stateDir = path.join(temp.dir, "agent");
  cwd = path.join(temp.dir, "ws");
  fs.mkdirSync(cwd);
});
afterEach(() => temp.cleanup());

function client(flags: string[] = [], overrides: { requestTimeoutMs?: number } = {}) {
  return createAcpClient({
    argv: testAgentArgv(stateDir, flags),
    env: { ...process.env, TELEGRAM_BOT_TOKEN: undefined },
    requestTimeoutMs: overrides.requestTimeoutMs ?? 10_000,
    replayQuietMs: 100,
    stopGraceMs: 1_000,
    logger,
  });
}

function recorder() {
  const seen = { text: [] as string[], notices: [] as string[], sessionIds: [] as string[] };
  const callbacks: TurnCallbacks = {
    onText: (t) => seen.text.push(t),
    onNotice: (n) => seen.notices.push(n),
    onSessionId: (id) => seen.sessionIds.push(id),
  };
  return { seen, callbacks };
}

const text = (t: string) => [{ type: "text" as const, text: t }];

function agentPids(): number[] {
  return readAgentEvents(stateDir)
    .filter((e) => e.event === "start")
    .map((e) => e.pid);
}

describe("ACP client turn", () => {
  it("creates a session, then loads it in a new process without re-emitting the replayed history", async () => {
    for (const flags of [[], ["--replay-after-response"]]) {
      const acpClient = client(flags);
      const first = recorder();
      const r1 = await acpClient.runTurn(
        { cwd, sessionId: undefined, prompt: text("Remember this number: 1234.") },
        first.callbacks,
      );
      expect(r1.setup).toBe("new");
      expect(r1.stopReason).toBe("end_turn");
      expect(r1.text).toBe("Got it, I memorized 1234.");
      expect(first.seen.sessionIds).toEqual([r1.sessionId]);

      const second = recorder();
      const r2 = await acpClient.runTurn(
        { cwd, sessionId: r1.sessionId, prompt: text("What number did I ask you to remember?") },
        second.callbacks,
      );
      expect(r2.setup).toBe("loaded");
      expect(r2.sessionId).toBe(r1.sessionId);
      expect(r2.text).toBe("You asked me to remember 1234.");
      expect(second.seen.text.join("")).toBe(r2.text);
      expect(second.seen.notices).toEqual([]);
      expect(second.seen.sessionIds).toEqual([]);
    }
    for (const pid of agentPids()) expect(isAlive(pid)).toBe(false);
  });

  it("prefers session/resume when the agent advertises it", async () => {
    const acpClient = client(["--resume"]);
    const r1 = await acpClient.runTurn(
      { cwd, sessionId: undefined, prompt: text("Remember this number: 77") },
      recorder().callbacks,
    );
    const r2 = await acpClient.runTurn(
      { cwd, sessionId: r1.sessionId, prompt: text("What number did I ask you to remember?") },
      recorder().callbacks,
    );
    expect(r2.setup).toBe("resumed");
    expect(r2.text).toContain("77");
    const events = readAgentEvents(stateDir).map((e) => e.event);
    expect(events).toContain("session/resume");
    expect(events).not.toContain("session/load");
  });

  for (const failure of ["--fail-load", "--exit-on-load", "--hang-on-load", "--no-load"]) {
    it(`falls back to session/new and tells the user when the load fails (${failure})`, async () => {
      const good = client();
      const r1 = await good.runTurn(
        { cwd, sessionId: undefined, prompt: text("Remember this number: 5") },
        recorder().callbacks,
      );
      const bad = client([failure], { requestTimeoutMs: 1_000 });
      const second = recorder();
      const r2 = await bad.runTurn(
        { cwd, sessionId: r1.sessionId, prompt: text("What number did I ask you to remember?") },
        second.callbacks,
      );
      expect(r2.setup).toBe("new");
      expect(r2.sessionId).not.toBe(r1.sessionId);
      expect(second.seen.sessionIds).toEqual([r2.sessionId]);
      expect(second.seen.notices).toHaveLength(1);
      expect(second.seen.notices[0]).toMatch(/could not be restored/);
      expect(r2.text).toMatch(/not asked me to remember/);
      for (const pid of agentPids()) expect(isAlive(pid)).toBe(false);
    });
  }

  it("refuses permission requests with a reject option and says which tool", async () => {
    const { seen, callbacks } = recorder();
    const result = await client().runTurn(
      { cwd, sessionId: undefined, prompt: text("permission") },
      callbacks,
    );
    expect(result.text).toBe("permission outcome: reject");
    expect(seen.notices).toEqual([expect.stringContaining("rm -rf build")]);
  });

  it("reports an agent that exits mid-turn as an AgentTurnError", async () => {
    const turn = client().runTurn({ cwd, sessionId: undefined, prompt: text("crash") }, recorder().callbacks);
    await expect(turn).rejects.toThrow(AgentTurnError);
    await expect(turn).rejects.toThrow(/exited with code 3 during session\/prompt/);
  });

  it("reports a missing agent binary as an AgentTurnError", async () => {
    const acpClient = createAcpClient({
      argv: [path.join(temp.dir, "no-such-agent")],
      env: process.env,
      requestTimeoutMs: 2_000,
      replayQuietMs: 0,
      stopGraceMs: 200,
      logger,
    });
    await expect(
      acpClient.runTurn({ cwd, sessionId: undefined, prompt: text("hi") }, recorder().callbacks),
    ).rejects.toThrow(/could not be started/);
  });

  it("ends the whole process group, including a child the agent forked", async () => {
    await client(["--fork-child"]).runTurn(
      { cwd, sessionId: undefined, prompt: text("hello") },
      recorder().callbacks,
    );
    const forked = readAgentEvents(stateDir).find((e) => e.event === "forked");
    expect(forked?.childPid).toEqual(expect.any(Number));
    expect(isAlive(forked?.childPid as number)).toBe(false);
  });
});
