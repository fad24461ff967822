import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAcpClient } from "../src/acp/acp-client.js";
import { AgentTurnError, TurnCancelledError } from "../src/acp/errors.js";
import type { TurnCallbacks } from "../src/acp/turn-types.js";
import { type InProcessLauncher, inProcessAgent } from "./support/in-process-agent.js";
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

let launcher: InProcessLauncher | undefined;

/** A client of the test agent: in-process by default, a real subprocess with `subprocess: true`. */
function client(flags: string[] = [], overrides: { requestTimeoutMs?: number; subprocess?: boolean } = {}) {
  launcher = overrides.subprocess ? undefined : inProcessAgent(["--state-dir", stateDir, ...flags]);
  return createAcpClient({
    argv: testAgentArgv(stateDir, flags),
    env: { ...process.env, TELEGRAM_BOT_TOKEN: undefined },
    requestTimeoutMs: overrides.requestTimeoutMs ?? 10_000,
    // A subprocess replays after the response later on a loaded machine: a wider quiet period.
    replayQuietMs: overrides.subprocess ? 500 : 100,
    stopGraceMs: 1_000,
    logger,
    ...(launcher ? { launch: launcher } : {}),
  });
}

function recorder() {
  const seen = { text: [] as string[], notices: [] as string[], sessionIds: [] as string[] };
  const callbacks: TurnCallbacks = {
    onUpdate: (u) => {
      if (u.sessionUpdate === "agent_message_chunk" && u.content.type === "text")
        seen.text.push(u.content.text);
    },
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
  it("drops Claude Code's command transcript (<command-name>, <local-command-stdout>) from the answer", async () => {
    const acpClient = client();
    const seen = recorder();
    const result = await acpClient.runTurn(
      { cwd, model: "auto", sessionId: undefined, prompt: text("claude command transcript") },
      seen.callbacks,
    );
    expect(result.text).toBe("answered after a command transcript");
    expect(seen.seen.text.join("")).toBe("answered after a command transcript");
  });

  it("creates a session, then loads it in a new process without re-emitting the replayed history", async () => {
    for (const flags of [[], ["--replay-after-response"]]) {
      const acpClient = client(flags, { subprocess: true });
      const first = recorder();
      const r1 = await acpClient.runTurn(
        { cwd, model: "auto", sessionId: undefined, prompt: text("Remember this number: 1234.") },
        first.callbacks,
      );
      expect(r1.setup).toBe("new");
      expect(r1.stopReason).toBe("end_turn");
      expect(r1.text).toBe("Got it, I memorized 1234.");
      expect(first.seen.sessionIds).toEqual([r1.sessionId]);

      const second = recorder();
      const r2 = await acpClient.runTurn(
        {
          cwd,
          model: "auto",
          sessionId: r1.sessionId,
          prompt: text("What number did I ask you to remember?"),
        },
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
      { cwd, model: "auto", sessionId: undefined, prompt: text("Remember this number: 77") },
      recorder().callbacks,
    );
    const r2 = await acpClient.runTurn(
      { cwd, model: "auto", sessionId: r1.sessionId, prompt: text("What number did I ask you to remember?") },
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
        { cwd, model: "auto", sessionId: undefined, prompt: text("Remember this number: 5") },
        recorder().callbacks,
      );
      const bad = client([failure], { requestTimeoutMs: 1_000 });
      const second = recorder();
      const r2 = await bad.runTurn(
        {
          cwd,
          model: "auto",
          sessionId: r1.sessionId,
          prompt: text("What number did I ask you to remember?"),
        },
        second.callbacks,
      );
      expect(r2.setup).toBe("new");
      expect(r2.sessionId).not.toBe(r1.sessionId);
      expect(second.seen.sessionIds).toEqual([r2.sessionId]);
      expect(second.seen.notices).toHaveLength(1);
      expect(second.seen.notices[0]).toMatch(/could not be restored/);
      expect(r2.text).toMatch(/not asked me to remember/);
      expect(launcher?.running()).toBe(0);
    });
  }

  it("refuses permission requests with a reject option and says which tool", async () => {
    const { seen, callbacks } = recorder();
    const result = await client().runTurn(
      { cwd, model: "auto", sessionId: undefined, prompt: text("permission") },
      callbacks,
    );
    expect(result.text).toBe("permission outcome: reject");
    expect(seen.notices).toEqual([expect.stringContaining("rm -rf build")]);
  });

  it("reports an agent that exits mid-turn as an AgentTurnError", async () => {
    const turn = client().runTurn(
      { cwd, model: "auto", sessionId: undefined, prompt: text("crash") },
      recorder().callbacks,
    );
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
      acpClient.runTurn(
        { cwd, model: "auto", sessionId: undefined, prompt: text("hi") },
        recorder().callbacks,
      ),
    ).rejects.toThrow(/could not be started/);
  });

  it("ends the whole process group, including a child the agent forked", async () => {
    await client(["--fork-child"], { subprocess: true }).runTurn(
      { cwd, model: "auto", sessionId: undefined, prompt: text("hello") },
      recorder().callbacks,
    );
    const forked = readAgentEvents(stateDir).find((e) => e.event === "forked");
    expect(forked?.childPid).toEqual(expect.any(Number));
    expect(isAlive(forked?.childPid as number)).toBe(false);
  });

  it("cancels a running prompt with session/cancel and ends with stop reason cancelled", async () => {
    const abort = new AbortController();
    const turn = client().runTurn(
      { cwd, model: "auto", sessionId: undefined, prompt: text("sleep 20000"), signal: abort.signal },
      recorder().callbacks,
    );
    for (let i = 0; i < 200 && !readAgentEvents(stateDir).some((e) => e.event === "prompt-start"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    abort.abort();
    const result = await turn;
    expect(result.stopReason).toBe("cancelled");
    expect(readAgentEvents(stateDir).find((e) => e.event === "prompt-end")?.stopReason).toBe("cancelled");
  });

  it("stops a turn cancelled before its prompt without prompting", async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(
      client().runTurn(
        { cwd, model: "auto", sessionId: undefined, prompt: text("hi"), signal: abort.signal },
        recorder().callbacks,
      ),
    ).rejects.toThrow(TurnCancelledError);
    expect(readAgentEvents(stateDir).filter((e) => e.event === "prompt-start")).toEqual([]);
  });

  it("applies the model after session/new and reports the agent's offer", async () => {
    const offers: unknown[] = [];
    const { callbacks } = recorder();
    const result = await client(["--models", "legacy"]).runTurn(
      { cwd, model: "smart", sessionId: undefined, prompt: text("which model") },
      { ...callbacks, onModels: (m) => offers.push(m) },
    );
    expect(result.text).toBe("model: smart");
    expect(offers).toEqual([expect.objectContaining({ source: "legacy", current: "fast" })]);
  });

  it("tells the user when the agent does not accept the model, and answers with its default", async () => {
    const { seen, callbacks } = recorder();
    const result = await client(["--models", "config"]).runTurn(
      { cwd, model: "gpt-9", sessionId: undefined, prompt: text("which model") },
      callbacks,
    );
    expect(result.text).toBe("model: fast");
    expect(seen.notices).toEqual([expect.stringMatching(/did not accept the model "gpt-9"/)]);
  });

  it("reports usage_update as context usage", async () => {
    const result = await client().runTurn(
      { cwd, model: "auto", sessionId: undefined, prompt: text("hi") },
      recorder().callbacks,
    );
    expect(result.usage).toEqual({ contextUsed: 1234, contextSize: 200000 });
  });

  it("describes the agent: capabilities and models, without prompting", async () => {
    const description = await client(["--models", "config"]).describe(cwd);
    expect(description.agentInfo?.name).toBe("tg-acp-test-agent");
    expect(description.capabilities.loadSession).toBe(true);
    expect(description.models?.available.map((m) => m.id)).toEqual(["fast", "smart"]);
    expect(readAgentEvents(stateDir).filter((e) => e.event === "prompt-start")).toEqual([]);
  });
});
