import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RequestPermissionRequest, SessionUpdate } from "@agentclientprotocol/sdk";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AcpClient } from "../src/acp/acp-client.js";
import { createModelCatalog } from "../src/acp/model-catalog.js";
import type { TurnCallbacks, TurnRequest } from "../src/acp/turn-types.js";
import { openSqliteStore } from "../src/db/sqlite-store.js";
import type { PermissionMode } from "../src/domain/permission.js";
import type { Store } from "../src/domain/store.js";
import type { TopicKey } from "../src/domain/topic-key.js";
import type { TurnResult } from "../src/domain/turn.js";
import { createLocalTurnQueue } from "../src/runner/local-turn-queue.js";
import { createRunner, type RunnerHandle } from "../src/runner/runner.js";
import type { TurnOutcome, TurnView } from "../src/runner/types.js";

const logger = pino({ level: "silent" });
const keyA: TopicKey = { chatId: -100, threadId: 1, userId: 42 };
const keyB: TopicKey = { chatId: -100, threadId: 2, userId: 42 };

const PERMISSION: RequestPermissionRequest = {
  sessionId: "s",
  toolCall: { toolCallId: "t", title: "Run tests", kind: "execute", rawInput: { command: "npm test" } },
  options: [
    { optionId: "once", name: "Allow once", kind: "allow_once" },
    { optionId: "always", name: "Allow always", kind: "allow_always" },
    { optionId: "no", name: "Reject", kind: "reject_once" },
  ],
};

/**
 * A fake ACP client: each prompt runs the script for its text. Scripts see the request (with its
 * abort signal) and the callbacks, and return the result's text; the session id is the key's stored
 * one or a new one.
 */
function fakeAcp(script: (text: string, request: TurnRequest, callbacks: TurnCallbacks) => Promise<string>) {
  const calls: Array<{ text: string; sessionId: string | undefined; model: string }> = [];
  let sessions = 0;
  const client = {
    async runTurn(request: TurnRequest, callbacks: TurnCallbacks): Promise<TurnResult> {
      const text = request.prompt.map((b) => (b.type === "text" ? b.text : "")).join("");
      calls.push({ text, sessionId: request.sessionId, model: request.model });
      const sessionId = request.sessionId ?? `session-${++sessions}`;
      if (!request.sessionId) callbacks.onSessionId(sessionId);
      const answer = await script(text, request, callbacks);
      const result: TurnResult = {
        sessionId,
        setup: request.sessionId ? "loaded" : "new",
        stopReason: request.signal?.aborted ? "cancelled" : "end_turn",
        text: answer,
      };
      callbacks.onResult?.(result);
      return result;
    },
    async describe() {
      return { agentInfo: undefined, protocolVersion: 1, capabilities: {}, models: undefined };
    },
  };
  return { client: client as unknown as AcpClient, calls };
}

/** A fake agent that asks for {@link PERMISSION} on every prompt; `answers` gets the option chosen. */
function askingAcp() {
  const answers: string[] = [];
  const acp = fakeAcp(async (_text, _request, callbacks) => {
    const response = await callbacks.onPermission?.(PERMISSION, new AbortController().signal);
    answers.push(response?.outcome.outcome === "selected" ? response.outcome.optionId : "cancelled");
    return "done";
  });
  return { acp, answers };
}

/** Resolves when `signal` aborts (at once when it already has). */
const aborted = (signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener("abort", () => resolve(), { once: true });
  });

/** Resolves once `condition` holds (checked every millisecond). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** A view that records what the runner tells it; permission answers come from `answer`. */
function recordingViews(
  answer: (request: RequestPermissionRequest) => string | "cancelled" = () => "cancelled",
) {
  const events: Array<{ key: TopicKey; event: string; detail?: unknown }> = [];
  const views = (key: TopicKey): TurnView => ({
    start: () => void events.push({ key, event: "start" }),
    update: (update: SessionUpdate) =>
      void events.push({ key, event: "update", detail: update.sessionUpdate }),
    notice: async (line: string) => void events.push({ key, event: "notice", detail: line }),
    askPermission: async (request) => {
      events.push({ key, event: "ask" });
      const optionId = answer(request);
      return optionId === "cancelled"
        ? { outcome: { outcome: "cancelled" } }
        : { outcome: { outcome: "selected", optionId } };
    },
    finish: async (outcome: TurnOutcome) => void events.push({ key, event: "finish", detail: outcome }),
    stopDelivery: () => void events.push({ key, event: "stop-delivery" }),
    abandon: () => {
      events.push({ key, event: "abandon" });
      return false;
    },
  });
  const outcomes = (key: TopicKey) =>
    events.filter((e) => e.key === key && e.event === "finish").map((e) => (e.detail as TurnOutcome).kind);
  return { events, views, outcomes };
}

let dir: string;
let store: Store;
let runner: RunnerHandle | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-runner-"));
  store = openSqliteStore(path.join(dir, "store.db"));
});
afterEach(async () => {
  await runner?.shutdown(0);
  runner = undefined;
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function makeRunner(options: {
  acp: AcpClient;
  views: ReturnType<typeof recordingViews>["views"];
  concurrency?: number;
  turnTimeoutMs?: number;
  permissionMode?: PermissionMode;
}): RunnerHandle {
  runner = createRunner({
    store,
    queue: createLocalTurnQueue({ concurrency: options.concurrency ?? 4, logger }),
    acpClient: options.acp,
    models: createModelCatalog({ acpClient: options.acp, logger }),
    views: options.views,
    workspaceBasePath: path.join(dir, "workspaces"),
    permissionMode: options.permissionMode ?? "ask",
    turnTimeoutMs: options.turnTimeoutMs ?? 60_000,
    logger,
  });
  return runner;
}

const prompt = (key: TopicKey, text: string, updateId?: number) => ({
  key,
  prompt: [{ type: "text" as const, text }],
  ...(updateId === undefined ? {} : { updateId }),
});

describe("runner", () => {
  it("runs a key's prompts one at a time in order, keeps the session, and runs other keys alongside", async () => {
    const order: string[] = [];
    let releaseA1 = () => {};
    const acp = fakeAcp(async (text, request) => {
      order.push(`start ${text}`);
      if (text === "a1") {
        await Promise.race([new Promise<void>((resolve) => (releaseA1 = resolve)), aborted(request.signal)]);
      }
      order.push(`end ${text}`);
      return `echo ${text}`;
    });
    const views = recordingViews();
    const r = makeRunner({ acp: acp.client, views: views.views });
    const a1 = r.submit(prompt(keyA, "a1"));
    const a2 = r.submit(prompt(keyA, "a2"));
    const b1 = r.submit(prompt(keyB, "b1"));
    await b1;
    await until(() => order.includes("start a1"));
    // b1 ran while a1 was busy; a2 waits for a1.
    expect(order).toContain("end b1");
    expect(order).not.toContain("start a2");
    expect((await r.status(keyA)).queued).toBe(1);
    releaseA1();
    await Promise.all([a1, a2]);
    expect(order.filter((e) => e.endsWith("a1") || e.endsWith("a2"))).toEqual([
      "start a1",
      "end a1",
      "start a2",
      "end a2",
    ]);
    // a1 made the key's session (b1 may have made the first one); a2 continued it.
    const sessionA = (await store.session(keyA))?.sessionId;
    expect(sessionA).toMatch(/^session-/);
    expect(acp.calls.filter((c) => c.text.startsWith("a")).map((c) => c.sessionId)).toEqual([
      undefined,
      sessionA,
    ]);
    expect(views.outcomes(keyA)).toEqual(["answered", "answered"]);
  });

  it("frees the agent slot when the agent is done, while its answer is still delivered; the topic waits", async () => {
    const acp = fakeAcp(async (text) => text);
    let releaseDelivery = () => {};
    const delivering = new Promise<void>((resolve) => (releaseDelivery = resolve));
    const finished: string[] = [];
    const views = (key: TopicKey): TurnView => ({
      ...recordingViews().views(key),
      finish: async (outcome) => {
        if (key === keyA && finished.length === 0) await delivering; // a rate-limited chat
        finished.push(`${key.threadId}:${outcome.kind === "answered" ? outcome.result.text : outcome.kind}`);
      },
    });
    const r = makeRunner({ acp: acp.client, views, concurrency: 1 });
    const a1 = r.submit(prompt(keyA, "a1"));
    const a2 = r.submit(prompt(keyA, "a2"));
    await until(() => acp.calls.length === 1);
    // One slot: B's agent runs while A's answer waits for Telegram; A's next prompt waits for it.
    await r.submit(prompt(keyB, "b1"));
    expect(finished).toEqual(["2:b1"]);
    expect(acp.calls.map((c) => c.text)).toEqual(["a1", "b1"]);
    releaseDelivery();
    await Promise.all([a1, a2]);
    expect(finished).toEqual(["2:b1", "1:a1", "1:a2"]);
  });

  it("journals a prompt of an Update once, however often it is submitted", async () => {
    const acp = fakeAcp(async (text) => text);
    const r = makeRunner({ acp: acp.client, views: recordingViews().views });
    await Promise.all([r.submit(prompt(keyA, "once", 77)), r.submit(prompt(keyA, "once", 77))]);
    expect(acp.calls).toHaveLength(1);
  });

  it("/cancel aborts the running turn and drops the queued ones without running them", async () => {
    const acp = fakeAcp(async (text, request) => {
      if (text === "long") await aborted(request.signal);
      return text;
    });
    const views = recordingViews();
    const r = makeRunner({ acp: acp.client, views: views.views });
    const running = r.submit(prompt(keyA, "long"));
    const queued = [r.submit(prompt(keyA, "q1")), r.submit(prompt(keyA, "q2"))];
    await until(() => acp.calls.length > 0);
    expect(await r.cancel(keyA)).toEqual({ cancelledRunning: true, stoppedDelivery: false, dropped: 2 });
    await Promise.all([running, ...queued]);
    expect(acp.calls.map((c) => c.text)).toEqual(["long"]);
    const finished = views.events.find((e) => e.event === "finish")?.detail as TurnOutcome;
    expect(finished.kind === "answered" && finished.result.stopReason).toBe("cancelled");
    expect(await r.cancel(keyA)).toEqual({ cancelledRunning: false, stoppedDelivery: false, dropped: 0 });
  });

  it("cancels a turn past the turn timeout and reports it as failed", async () => {
    const acp = fakeAcp(async (_text, request) => {
      await aborted(request.signal);
      throw new Error("aborted by the client");
    });
    const views = recordingViews();
    const r = makeRunner({ acp: acp.client, views: views.views, turnTimeoutMs: 50 });
    await r.submit(prompt(keyA, "forever"));
    const outcome = views.events.find((e) => e.event === "finish")?.detail;
    expect(outcome).toEqual({ kind: "failed", reason: "the turn took longer than 50 ms and was cancelled" });
    expect((await r.status(keyA)).last?.stopReason).toBe("failed");
  });

  it("interrupts running and queued turns when the shutdown grace is over, and takes no new ones", async () => {
    const acp = fakeAcp(async (_text, request) => {
      await aborted(request.signal);
      throw new Error("aborted");
    });
    const views = recordingViews();
    const r = makeRunner({ acp: acp.client, views: views.views });
    const turns = [r.submit(prompt(keyA, "busy")), r.submit(prompt(keyA, "waiting"))];
    await until(() => acp.calls.length > 0);
    await r.shutdown(10);
    await Promise.all(turns);
    expect(views.outcomes(keyA)).toEqual(["interrupted", "interrupted"]);
    await r.submit(prompt(keyB, "too late"));
    expect(views.outcomes(keyB)).toEqual(["interrupted"]);
    expect(acp.calls.map((c) => c.text)).toEqual(["busy"]);
    const interrupted = await store.recoverInterrupted();
    expect(interrupted.map((t) => t.prompt)).toEqual(["busy", "waiting", "too late"]);
  });

  it("asks the user for permission, and remembers an allow-always answer for the tool kind", async () => {
    const { acp, answers } = askingAcp();
    const views = recordingViews(() => "always");
    const r = makeRunner({ acp: acp.client, views: views.views });
    await r.submit(prompt(keyA, "first"));
    await r.submit(prompt(keyA, "second"));
    expect(answers).toEqual(["always", "always"]);
    expect(views.events.filter((e) => e.event === "ask")).toHaveLength(1);
    expect(views.events.find((e) => e.event === "notice")?.detail).toMatch(
      /you chose "always" for execute tools/,
    );
    expect(await store.hasPermissionGrant(keyA, "execute")).toBe(true);
  });

  it("answers permission requests itself under PERMISSION_MODE allow and deny", async () => {
    for (const [mode, expected] of [
      ["allow", "once"],
      ["deny", "no"],
    ] as const) {
      const { acp, answers } = askingAcp();
      const views = recordingViews(() => "always");
      const r = makeRunner({ acp: acp.client, views: views.views, permissionMode: mode });
      await r.submit(prompt(keyA, "tool"));
      expect(answers).toEqual([expected]);
      expect(views.events.filter((e) => e.event === "ask")).toEqual([]);
      await r.shutdown(0);
    }
  });

  it("retries an interrupted turn once, for its own user only", async () => {
    const acp = fakeAcp(async (text) => text);
    const views = recordingViews();
    const turnId = (await store.enqueueTurn({ key: keyA, prompt: "lost" })) as number;
    await store.recoverInterrupted();
    const r = makeRunner({ acp: acp.client, views: views.views });
    expect(await r.retry(turnId, 7)).toBe("Only the user whose prompt this was can retry it.");
    expect(await r.retry(turnId, keyA.userId)).toBeUndefined();
    await r.idle();
    expect(await r.retry(turnId, keyA.userId)).toBe("This turn was already retried.");
    expect(acp.calls.map((c) => c.text)).toEqual(["lost"]);
  });
});
