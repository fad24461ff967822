import type * as acp from "@agentclientprotocol/sdk";
import { describe, expect, it } from "vitest";
import { resolveAgentExecutable } from "../src/acp/agent-command.js";
import { createSessionMinuteGuard, quirksOf, sameMinute, untilNextMinute } from "../src/acp/agent-quirks.js";
import { TurnCancelledError } from "../src/acp/errors.js";

const init = (name: string): acp.InitializeResponse => ({
  protocolVersion: 1,
  agentInfo: { name, version: "1" },
});

describe("agent quirks", () => {
  it("knows Gemini CLI by its agentInfo name and nobody else", () => {
    expect(quirksOf(init("gemini-cli")).sessionMinute).toBe(true);
    expect(quirksOf(init("claude-agent-acp")).sessionMinute).toBe(false);
    expect(quirksOf({ protocolVersion: 1 }).sessionMinute).toBe(false);
  });

  it("measures the UTC minute", () => {
    const t = Date.UTC(2026, 11, 1, 10, 30, 59, 400);
    expect(sameMinute(t, t + 599)).toBe(true);
    expect(sameMinute(t, t + 600)).toBe(false);
    expect(untilNextMinute(t, 0)).toBe(600);
    expect(untilNextMinute(t)).toBe(1100);
  });

  it("keeps a Gemini session's agent and waits before loading it only within its creation minute", async () => {
    let now = Date.UTC(2026, 11, 1, 10, 30, 59, 900);
    const guard = createSessionMinuteGuard(() => now);
    guard.created(init("gemini-cli"), "g1");
    guard.created(init("codex-acp"), "c1");
    expect(guard.keepForMs("g1")).toBe(600);
    expect(guard.keepForMs("c1")).toBe(0);
    expect(guard.keepForMs(undefined)).toBe(0);
    const lines: string[] = [];
    const started = Date.now();
    await guard.beforeLoad(
      init("gemini-cli"),
      "g1",
      (line) => lines.push(line),
      new AbortController().signal,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(lines).toEqual(["⏳ This agent cannot load a session in the minute it was created; waiting 1 s."]);
    now += 1000;
    expect(guard.keepForMs("g1")).toBe(0);
    await guard.beforeLoad(
      init("gemini-cli"),
      "g1",
      (line) => lines.push(line),
      new AbortController().signal,
    );
    expect(lines).toHaveLength(1);
  });

  it("waits before loading a Gemini session an earlier process saved in this minute (a quick restart)", async () => {
    const now = Date.UTC(2026, 11, 1, 10, 30, 59, 900);
    const guard = createSessionMinuteGuard(() => now);
    const lines: string[] = [];
    const load = (agent: string, sessionId: string, savedAt: number) =>
      guard.beforeLoad(
        init(agent),
        sessionId,
        (line) => lines.push(line),
        new AbortController().signal,
        savedAt,
      );
    const started = Date.now();
    await load("gemini-cli", "g0", now - 2000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(lines).toHaveLength(1);
    // Saved in an earlier minute, or by another agent: no wait.
    await load("gemini-cli", "g0", now - 60_000);
    await load("codex-acp", "c0", now - 2000);
    expect(lines).toHaveLength(1);
  });

  it("stops waiting when the turn is cancelled", async () => {
    const now = Date.UTC(2026, 11, 1, 10, 30, 1);
    const guard = createSessionMinuteGuard(() => now);
    guard.created(init("gemini-cli"), "g1");
    const cancel = new AbortController();
    const waiting = guard.beforeLoad(init("gemini-cli"), "g1", () => {}, cancel.signal);
    cancel.abort();
    await expect(waiting).rejects.toBeInstanceOf(TurnCancelledError);
  });

  it("names the install command of a known agent that is not on PATH", () => {
    expect(() => resolveAgentExecutable("claude-agent-acp", { PATH: "/nonexistent" }, "/")).toThrow(
      "ACP_AGENT_COMMAND: `claude-agent-acp` was not found on PATH (install it with `npm install -g @agentclientprotocol/claude-agent-acp`, or set ACP_AGENT_COMMAND to its full command)",
    );
  });
});
