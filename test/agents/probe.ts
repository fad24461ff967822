import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type * as acp from "@agentclientprotocol/sdk";
import { type FakeModel, startFakeModel } from "../support/fake-model.js";
import {
  type AcpAgent,
  CLIENT_CAPABILITIES,
  messageText,
  type RecordedUpdate,
  spawnAcpAgent,
} from "./acp-driver.js";
import { AGENT_RECIPES, prepareAgentHome } from "./agents.js";
import type { AgentId } from "./install.js";
import { isSameAlive, label, type ProcInfo, rssMb } from "./proc.js";

/**
 * The checks of the real-agents suite, run directly over the ACP SDK (no bot): each returns plain
 * figures and facts, which scripts/probe-agents.ts prints and test/agents/*.agents.test.ts asserts.
 * Every check spawns its own agent processes and ends them (and anything they left) before it
 * returns; they share one HOME per {@link ProbeContext}, so sessions persist across processes.
 */
export type ProbeContext = {
  id: AgentId;
  model: FakeModel;
  root: string;
  home: string;
  /** The session's cwd (a topic's workspace). */
  workspace: string;
  /** A directory that is nobody's workspace, for spawning "spare" processes. */
  neutral: string;
  /** The model id the recipe selects (override with `modelId`). */
  modelId: string;
  cleanup: () => Promise<void>;
};

export async function createProbeContext(
  id: AgentId,
  options: { modelId?: string } = {},
): Promise<ProbeContext> {
  const model = await startFakeModel();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `tg-acp-agents-${id}-`));
  const dirs = {
    home: path.join(root, "home"),
    workspace: path.join(root, "workspace"),
    neutral: path.join(root, "neutral"),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  return {
    id,
    model,
    root,
    ...dirs,
    modelId: options.modelId ?? AGENT_RECIPES[id].defaultModel,
    cleanup: async () => {
      await model.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

type SpawnOptions = {
  cwd?: string;
  modelId?: string;
  notices?: boolean;
  permission?: "allow" | "reject";
  /** Added to the recipe's environment. */
  env?: Record<string, string>;
};

/** Spawns the context's agent (process cwd: the workspace unless told otherwise) and initializes it. */
export async function startAgent(ctx: ProbeContext, options: SpawnOptions = {}) {
  const launch = prepareAgentHome(ctx.id, {
    home: ctx.home,
    modelUrl: ctx.model.url,
    cwd: options.cwd ?? ctx.workspace,
    model: options.modelId ?? ctx.modelId,
  });
  Object.assign(launch.env, options.env);
  const clientCapabilities: acp.ClientCapabilities = options.notices
    ? { ...CLIENT_CAPABILITIES, session: { notices: {} } }
    : CLIENT_CAPABILITIES;
  const agent = await spawnAcpAgent(launch, {
    permission: options.permission ?? "allow",
    clientCapabilities,
  });
  const init = await agent.initialize();
  return { agent, init };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Waits until none of `procs` is alive (same pid and start time); returns how long it took, or undefined. */
async function waitGone(procs: ProcInfo[], ms: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (!procs.some(isSameAlive)) return Date.now() - started;
    await sleep(25);
  }
  return undefined;
}

function survivors(procs: ProcInfo[]): ProcInfo[] {
  return procs.filter(isSameAlive);
}

/** Ends whatever of `procs` is still alive (tests must leave nothing behind). */
function reap(procs: ProcInfo[]): void {
  for (const p of survivors(procs)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
}

export async function finish(agent: AcpAgent): Promise<void> {
  const seen = agent.seenProcesses();
  await agent.dispose(2000);
  reap(seen);
}

// ---- start-up -----------------------------------------------------------------------------------

export type StartupFigures = {
  /** spawn + initialize + session/new of each run, ms. */
  runs: number[];
  medianMs: number;
  initializeMs: number[];
  newSessionMs: number[];
  /** RSS of the process tree right after session/new (last run), MiB. */
  idleRssMb: number;
  init: acp.InitializeResponse;
  newSession: acp.NewSessionResponse;
};

export async function measureStartup(
  ctx: ProbeContext,
  runs = 3,
  env?: Record<string, string>,
): Promise<StartupFigures> {
  const totals: number[] = [];
  const inits: number[] = [];
  const news: number[] = [];
  let idleRssMb = 0;
  let init: acp.InitializeResponse | undefined;
  let newSession: acp.NewSessionResponse | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    const started = await startAgent(ctx, { ...(env ? { env } : {}) });
    const t1 = Date.now();
    newSession = await started.agent.newSession(ctx.workspace);
    const t2 = Date.now();
    totals.push(t2 - t0);
    inits.push(t1 - t0);
    news.push(t2 - t1);
    init = started.init;
    await sleep(300);
    idleRssMb = rssMb(started.agent.tree());
    await finish(started.agent);
  }
  return {
    runs: totals,
    medianMs: median(totals),
    initializeMs: inits,
    newSessionMs: news,
    idleRssMb,
    init: init as acp.InitializeResponse,
    newSession: newSession as acp.NewSessionResponse,
  };
}

// ---- a turn -------------------------------------------------------------------------------------

export type TurnFigures = {
  text: string;
  stopReason: acp.StopReason;
  firstChunkMs: number | undefined;
  ms: number;
  updateKinds: string[];
  /** Chunks before the model's answer (start-up warnings), with their _meta and messageId. */
  preamble: { text: string; meta: unknown; messageId: string | undefined }[];
  peakRssMb: number;
  /** What the model was told the working directory is. */
  modelCwd: string | undefined;
};

/**
 * The chunks of a turn that come before the model's answer (`answerStart`, what the fake model
 * says first): start-up warnings and the like, with their `_meta` and messageId.
 */
function preambleOf(
  result: Awaited<ReturnType<AcpAgent["prompt"]>>,
  answerStart = "echo: ",
): { text: string; meta: unknown; messageId: string | undefined }[] {
  const at = result.text.indexOf(answerStart);
  const out: { text: string; meta: unknown; messageId: string | undefined }[] = [];
  let offset = 0;
  for (const chunk of result.chunks) {
    if (at >= 0 && offset >= at) break;
    out.push({ text: chunk.text, meta: chunk.meta ?? null, messageId: chunk.messageId });
    offset += chunk.text.length;
  }
  return at < 0 ? [] : out;
}

export async function plainTurn(ctx: ProbeContext, prompt = "Say hello to the probe."): Promise<TurnFigures> {
  const { agent } = await startAgent(ctx);
  try {
    const session = await agent.newSession(ctx.workspace);
    const result = await agent.prompt(session.sessionId, prompt);
    const call = ctx.model.completions().findLast((c) => c.userTurns.at(-1) === prompt);
    return {
      text: result.text,
      stopReason: result.stopReason,
      firstChunkMs: result.firstChunkMs,
      ms: result.ms,
      updateKinds: [...new Set(result.updates.map((u) => u.update.sessionUpdate))],
      preamble: preambleOf(result),
      peakRssMb: agent.peakRssMb(),
      modelCwd: call?.cwd,
    };
  } finally {
    await finish(agent);
  }
}

// ---- restart and recall -------------------------------------------------------------------------

const TRANSCRIPT = new Set([
  "user_message_chunk",
  "agent_message_chunk",
  "agent_thought_chunk",
  "tool_call",
  "tool_call_update",
  "plan",
]);

/**
 * Gemini CLI 0.61 names a session's file after the UTC minute it was created in
 * (`chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl`), and a process that loads the session first
 * starts a fresh recording under the same rule: in the same minute that is the same file, and the
 * stored history is overwritten ("No previous sessions found for this project"). Restores of a
 * Gemini session therefore wait for the next minute.
 */
export function restoreIsSafeAfter(id: AgentId, createdAt: number): number {
  return id === "gemini" ? Math.floor(createdAt / 60_000) * 60_000 + 60_000 + 500 : createdAt;
}

async function waitUntil(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(ms);
}

export type ReplayFigures = {
  setupMs: number | undefined;
  error?: string;
  /** Updates during and for 3 s after set-up, by kind. */
  kinds: Record<string, number>;
  /** Transcript updates (a replay) that arrived after the set-up response. */
  replayedAfterResponse: number;
  /** Text of replayed user and agent messages. */
  userText: string;
  agentText: string;
  /** Replayed text that looks like Claude Code's internal command transcript (`<command-name>` ...). */
  commandMessages: string[];
  /** The answer to "What number did I ask you to remember?" afterwards. */
  recallText: string | undefined;
  /** The model id the fake model saw on that recall turn (is a switched model kept?). */
  recallModel: string | undefined;
};

export type RestoreFigures = {
  sessionId: string;
  number: number;
  rememberText: string;
  /** The model switch made before the restart (set_config_option, or legacy session/set_model). */
  switchedModel: string | undefined;
  /** The model id the fake model saw on the turn after the switch (compare with each recallModel). */
  modelBeforeRestart: string | undefined;
  /** The first process was ended with SIGTERM to its group right after its last turn's response. */
  sigterm: { goneMs: number | undefined; exit: { code: number | null; signal: string | null } | undefined };
  /** Whether the restore waited for the next minute (Gemini, see {@link restoreIsSafeAfter}). */
  waitedMs: number;
  /** session/resume when advertised, else session/load, in a second process. */
  restore: { method: "resume" | "load" } & ReplayFigures;
  /** session/load in a third process (when advertised), recording the replay. */
  load: ReplayFigures | undefined;
};

async function restoreWith(
  ctx: ProbeContext,
  method: "resume" | "load",
  sessionId: string,
): Promise<ReplayFigures> {
  const { agent } = await startAgent(ctx);
  try {
    const before = agent.updates.length;
    const t0 = Date.now();
    let error: string | undefined;
    try {
      if (method === "resume") await agent.resumeSession(sessionId, ctx.workspace);
      else await agent.loadSession(sessionId, ctx.workspace);
    } catch (e) {
      error = String(e).split("\n")[0];
    }
    const setupMs = Date.now() - t0;
    const answeredAt = Date.now();
    await sleep(3000);
    const updates: RecordedUpdate[] = agent.updates.slice(before);
    const kinds: Record<string, number> = {};
    for (const u of updates) kinds[u.update.sessionUpdate] = (kinds[u.update.sessionUpdate] ?? 0) + 1;
    const userText = messageText(updates, "user");
    const agentText = messageText(updates, "agent");
    const commandMessages = [userText, agentText]
      .flatMap(
        (t) =>
          t.match(
            /<(command-name|command-message|command-args|local-command-stdout|local-command-caveat)>[\s\S]*?<\/\1>/g,
          ) ?? [],
      )
      .slice(0, 10);
    const question = "What number did I ask you to remember?";
    const recallText = error ? undefined : (await agent.prompt(sessionId, question)).text;
    const recallModel = ctx.model
      .completions()
      .findLast((c) => c.tools.length > 0 && c.userTurns.at(-1)?.endsWith(question))?.model;
    return {
      recallModel,
      setupMs: error ? undefined : setupMs,
      ...(error ? { error } : {}),
      kinds,
      replayedAfterResponse: updates.filter(
        (u) => TRANSCRIPT.has(u.update.sessionUpdate) && u.at > answeredAt,
      ).length,
      userText,
      agentText,
      commandMessages,
      recallText,
    };
  } finally {
    await finish(agent);
  }
}

/**
 * Process A: a new session, "Remember this number: N", a model switch (when there is a model config
 * option) and one more turn, then SIGTERM to its group at once (no stdin grace). Process B:
 * session/resume (else load) and a recall. Process C: session/load, recording the replay, and a
 * recall.
 */
export async function restoreSession(ctx: ProbeContext, number = 4321): Promise<RestoreFigures> {
  const first = await startAgent(ctx);
  const createdAt = Date.now();
  const session = await first.agent.newSession(ctx.workspace);
  const sessionId = session.sessionId;
  let switchedModel: string | undefined;
  let modelBeforeRestart: string | undefined;
  let rememberText: string;
  let sigterm: RestoreFigures["sigterm"];
  try {
    rememberText = (await first.agent.prompt(sessionId, `Remember this number: ${number}`)).text;
    const option = modelOption(session.configOptions);
    const legacy = (session as { models?: LegacyModels }).models;
    const other = option
      ? optionValues(option).findLast((v) => v !== option.currentValue && v !== "default")
      : legacy?.availableModels
          .map((m) => m.modelId)
          .findLast((m) => m !== legacy.currentModelId && m !== "auto");
    if (option && other) {
      await first.agent.call("session/set_config_option", { sessionId, configId: option.id, value: other });
      switchedModel = other;
    } else if (legacy && other) {
      await first.agent.call("session/set_model", { sessionId, modelId: other });
      switchedModel = other;
    }
    await first.agent.prompt(sessionId, "One more turn before the restart.");
    modelBeforeRestart = ctx.model
      .completions()
      .findLast(
        (c) => c.tools.length > 0 && c.userTurns.at(-1) === "One more turn before the restart.",
      )?.model;
    const tree = first.agent.seenProcesses();
    first.agent.closeStdin();
    first.agent.signalGroup("SIGTERM");
    const goneMs = await waitGone(tree, 10_000);
    const exit = await first.agent.waitExit(100);
    sigterm = { goneMs, exit: exit ? { code: exit.code, signal: exit.signal } : undefined };
  } finally {
    await finish(first.agent);
  }
  const t0 = Date.now();
  await waitUntil(restoreIsSafeAfter(ctx.id, createdAt));
  const waitedMs = Date.now() - t0;
  const caps = first.init.agentCapabilities ?? {};
  const method = caps.sessionCapabilities?.resume ? "resume" : "load";
  const restore = { method, ...(await restoreWith(ctx, method, sessionId)) } as RestoreFigures["restore"];
  const load =
    method === "resume" && caps.loadSession ? await restoreWith(ctx, "load", sessionId) : undefined;
  return {
    sessionId,
    number,
    rememberText,
    switchedModel,
    modelBeforeRestart,
    sigterm,
    waitedMs,
    restore,
    load,
  };
}

export type QuickRestoreFigures = {
  /** Milliseconds between session/new and the restore in the next process (same UTC minute). */
  afterMs: number;
  method: "resume" | "load";
  error?: string;
  recallText: string | undefined;
};

/** Restores a session right after the process that created it ended (seconds later, same minute). */
export async function quickRestore(ctx: ProbeContext, number = 1357): Promise<QuickRestoreFigures> {
  // Leave room for both processes inside one UTC minute.
  if (Date.now() % 60_000 > 40_000) await waitUntil(Math.ceil(Date.now() / 60_000) * 60_000 + 200);
  const first = await startAgent(ctx);
  const createdAt = Date.now();
  const session = await first.agent.newSession(ctx.workspace);
  await first.agent.prompt(session.sessionId, `Remember this number: ${number}`);
  await finish(first.agent);
  const caps = first.init.agentCapabilities ?? {};
  const method = caps.sessionCapabilities?.resume ? "resume" : "load";
  const afterMs = Date.now() - createdAt;
  const restored = await restoreWith(ctx, method, session.sessionId);
  return {
    afterMs,
    method,
    ...(restored.error ? { error: restored.error } : {}),
    recallText: restored.recallText,
  };
}

// ---- models -------------------------------------------------------------------------------------

export type ModelFigures = {
  /** "config" (configOptions category model + set_config_option) or "legacy" (models + set_model). */
  mechanism: "config" | "legacy" | "none";
  current: string | undefined;
  available: string[];
  /** The model switched to, and whether the switch call succeeded. */
  switchedTo: string | undefined;
  switchError?: string;
  setConfigOptionError?: string;
  /** The model id the fake model saw on the turn after the switch. */
  modelSeenAfterSwitch: string | undefined;
  modelSeenBefore: string | undefined;
};

type LegacyModels = { currentModelId: string; availableModels: { modelId: string }[] };

function modelOption(configOptions: acp.SessionConfigOption[] | null | undefined) {
  return configOptions?.find((o) => o.category === "model" || o.id === "model");
}

function optionValues(option: acp.SessionConfigOption): string[] {
  if (option.type !== "select") return [];
  return option.options.flatMap((o) => ("options" in o ? o.options.map((x) => x.value) : [o.value]));
}

/** Lists the models of a new session, switches to another one and checks which model the next turn used. */
export async function switchModel(
  ctx: ProbeContext,
  pick?: (available: string[], current?: string) => string,
) {
  const { agent } = await startAgent(ctx);
  try {
    const session = await agent.newSession(ctx.workspace);
    const option = modelOption(session.configOptions);
    const legacy = (session as { models?: LegacyModels }).models;
    const figures: ModelFigures = {
      mechanism: option ? "config" : legacy ? "legacy" : "none",
      current: option ? String(option.currentValue) : legacy?.currentModelId,
      available: option ? optionValues(option) : (legacy?.availableModels.map((m) => m.modelId) ?? []),
      switchedTo: undefined,
      modelSeenAfterSwitch: undefined,
      modelSeenBefore: undefined,
    };
    const first = "Which model answers the first turn?";
    await agent.prompt(session.sessionId, first);
    figures.modelSeenBefore = ctx.model
      .completions()
      .findLast((c) => c.tools.length > 0 && c.userTurns.at(-1) === first)?.model;
    const candidates = figures.available.filter(
      (m) => m !== figures.current && m !== "default" && m !== "auto",
    );
    // The last one: the first may be what "default" stands for (Claude: default = opus).
    const target = pick ? pick(candidates, figures.current) : candidates.at(-1);
    if (!target) return figures;
    figures.switchedTo = target;
    try {
      if (figures.mechanism === "config" && option) {
        await agent.call("session/set_config_option", {
          sessionId: session.sessionId,
          configId: option.id,
          value: target,
        });
      } else {
        await agent.call("session/set_model", { sessionId: session.sessionId, modelId: target });
      }
    } catch (e) {
      figures.switchError = String(e).split("\n")[0];
    }
    if (figures.mechanism === "legacy") {
      try {
        await agent.call("session/set_config_option", {
          sessionId: session.sessionId,
          configId: "model",
          value: target,
        });
      } catch (e) {
        figures.setConfigOptionError = String(e).split("\n")[0];
      }
    }
    const prompt = "Which model answers after the switch?";
    await agent.prompt(session.sessionId, prompt);
    figures.modelSeenAfterSwitch = ctx.model
      .completions()
      .findLast((c) => c.tools.length > 0 && c.userTurns.at(-1) === prompt)?.model;
    return figures;
  } finally {
    await finish(agent);
  }
}

// ---- tools, permissions and the session's cwd ---------------------------------------------------

export type ToolFigures = {
  /** The agent process's own cwd (neutral) and the session's (workspace). */
  processCwd: string;
  sessionCwd: string;
  modelCwd: string | undefined;
  shell: {
    text: string;
    permissions: string[];
    options: string[];
    inWorkspace: boolean;
    inProcessCwd: boolean;
  };
  write: {
    text: string;
    permissions: string[];
    options: string[];
    inWorkspace: boolean;
    inProcessCwd: boolean;
  };
  /** With the permission rejected: did the file appear anyway? */
  rejectedWriteLanded: boolean;
  /** Project instructions (AGENTS.md, CLAUDE.md, GEMINI.md) the model was sent: the workspace's, the process cwd's. */
  instructionsFromWorkspace: boolean;
  instructionsFromProcessCwd: boolean;
};

const INSTRUCTION_FILES = ["AGENTS.md", "CLAUDE.md", "GEMINI.md"];

/**
 * Spawns the agent in a neutral cwd (a warm spare), opens the session in the workspace, and asks for
 * a shell command and a file write: each must ask permission and land in the workspace.
 */
export async function toolsInSessionCwd(ctx: ProbeContext): Promise<ToolFigures> {
  const { agent } = await startAgent(ctx, { cwd: ctx.neutral });
  const landed = (name: string) => ({
    inWorkspace: fs.existsSync(path.join(ctx.workspace, name)),
    inProcessCwd: fs.existsSync(path.join(ctx.neutral, name)),
  });
  const permissionsOf = (result: Awaited<ReturnType<AcpAgent["prompt"]>>) => ({
    permissions: result.permissions.map((p) => p.toolCall.title ?? "?"),
    options: result.permissions[0]?.options.map((o) => `${o.kind}:${o.optionId}`) ?? [],
  });
  const marker = (where: string) =>
    `Project rule from the ${where}: answer as usual (marker ${where.toUpperCase()}-7c1e).`;
  for (const name of INSTRUCTION_FILES) {
    fs.writeFileSync(path.join(ctx.workspace, name), `${marker("workspace")}\n`);
    fs.writeFileSync(path.join(ctx.neutral, name), `${marker("neutral")}\n`);
  }
  try {
    const session = await agent.newSession(ctx.workspace);
    const from = ctx.model.calls.length;
    const shell = await agent.prompt(session.sessionId, "run shell: echo probe > shell-probe.txt");
    const sent = JSON.stringify(ctx.model.calls.slice(from).map((c) => c.body));
    const write = await agent.prompt(
      session.sessionId,
      "write file write-probe.txt with written by the probe",
    );
    const modelCwd = ctx.model.completions().findLast((c) => c.tools.length > 0)?.cwd;
    return {
      processCwd: ctx.neutral,
      sessionCwd: ctx.workspace,
      modelCwd,
      shell: { text: shell.text, ...permissionsOf(shell), ...landed("shell-probe.txt") },
      write: { text: write.text, ...permissionsOf(write), ...landed("write-probe.txt") },
      rejectedWriteLanded: await rejectedWrite(ctx),
      instructionsFromWorkspace: sent.includes("WORKSPACE-7c1e"),
      instructionsFromProcessCwd: sent.includes("NEUTRAL-7c1e"),
    };
  } finally {
    await finish(agent);
    for (const name of INSTRUCTION_FILES) {
      fs.rmSync(path.join(ctx.workspace, name), { force: true });
      fs.rmSync(path.join(ctx.neutral, name), { force: true });
    }
  }
}

async function rejectedWrite(ctx: ProbeContext): Promise<boolean> {
  const { agent } = await startAgent(ctx, { permission: "reject" });
  try {
    const session = await agent.newSession(ctx.workspace);
    await agent.prompt(session.sessionId, "write file rejected-probe.txt");
    return fs.existsSync(path.join(ctx.workspace, "rejected-probe.txt"));
  } finally {
    await finish(agent);
  }
}

// ---- ending the process -------------------------------------------------------------------------

export type ExitFigures = {
  /** After a finished turn, stdin closed: the agent's own process exited after (ms), or did not within the limit. */
  leaderExitMs: number | undefined;
  /** ... and every process of its tree was gone after (ms). */
  treeGoneMs: number | undefined;
  /** If not gone within the limit: what SIGTERM to the group then took. */
  afterSigtermMs: number | undefined;
  tree: string[];
};

/** A turn, then stdin closed: how long until the agent and its children are gone. */
export async function exitAfterStdinClose(ctx: ProbeContext, limitMs = 10_000): Promise<ExitFigures> {
  const { agent } = await startAgent(ctx);
  try {
    const session = await agent.newSession(ctx.workspace);
    await agent.prompt(session.sessionId, "run shell: echo exit-probe");
    const tree = agent.seenProcesses();
    const t0 = Date.now();
    agent.closeStdin();
    const exit = await agent.waitExit(limitMs);
    const waitFrom = Date.now();
    const gone = await waitGone(tree, Math.max(0, limitMs - (waitFrom - t0)));
    const treeGoneMs = gone === undefined ? undefined : waitFrom - t0 + gone;
    let afterSigtermMs: number | undefined;
    if (treeGoneMs === undefined) {
      const t1 = Date.now();
      agent.signalGroup("SIGTERM");
      for (const p of survivors(tree)) {
        try {
          process.kill(p.pid, "SIGTERM");
        } catch {}
      }
      afterSigtermMs = (await waitGone(tree, 10_000)) === undefined ? undefined : Date.now() - t1;
    }
    return {
      leaderExitMs: exit ? exit.at - t0 : undefined,
      treeGoneMs,
      afterSigtermMs,
      tree: tree.map((p) => `${label(p)}${p.pgid === agent.pid ? "" : ` [own group ${p.pgid}]`}`),
    };
  } finally {
    await finish(agent);
  }
}

export type CrashFigures = {
  /** Our side went away (all pipes closed, as when the bot is SIGKILLed) during a slow model call. */
  pipesClosed: {
    leaderExitMs: number | undefined;
    survivorsAfterMs: string[];
    waitedMs: number;
    /** When some survived: how long after the pipes closed the last of them was gone (undefined: still alive). */
    goneAfterMs?: number | undefined;
  };
  /** The agent's own process was SIGKILLed during a slow model call. */
  leaderKilled: { survivorsAfterMs: string[]; waitedMs: number };
};

/**
 * What is left after our side dies mid-turn (waitMs later, and, if anything is, whether it is gone
 * within `followMs` more), and after the agent's leader process is SIGKILLed.
 */
export async function crashMidTurn(ctx: ProbeContext, waitMs = 10_000, followMs = 0): Promise<CrashFigures> {
  const slowTurn = async (agent: AcpAgent) => {
    const session = await agent.newSession(ctx.workspace);
    const from = Date.now();
    void agent.prompt(session.sessionId, "slow 30000 then answer").catch(() => {});
    await ctx.model.waitForCall(
      (c) => c.at >= from && c.userTurns.at(-1) === "slow 30000 then answer",
      30_000,
    );
    await sleep(500);
  };

  const first = await startAgent(ctx);
  await slowTurn(first.agent);
  const tree1 = first.agent.seenProcesses();
  const t0 = Date.now();
  first.agent.child.stdin?.destroy();
  first.agent.child.stdout?.destroy();
  first.agent.child.stderr?.destroy();
  const exit = await first.agent.waitExit(waitMs);
  await sleep(Math.max(0, waitMs - (Date.now() - t0)));
  const left = survivors(first.agent.seenProcesses());
  const pipesClosed: CrashFigures["pipesClosed"] = {
    leaderExitMs: exit ? exit.at - t0 : undefined,
    survivorsAfterMs: left.map(label),
    waitedMs: waitMs,
  };
  if (left.length > 0 && followMs > 0) {
    const gone = await waitGone(left, followMs);
    pipesClosed.goneAfterMs = gone === undefined ? undefined : Date.now() - t0;
  }
  reap([...tree1, ...first.agent.seenProcesses()]);
  await first.agent.dispose(500);

  const second = await startAgent(ctx);
  await slowTurn(second.agent);
  const tree2 = second.agent.seenProcesses();
  process.kill(second.agent.pid, "SIGKILL");
  await sleep(3000);
  const leaderKilled = { survivorsAfterMs: survivors(tree2).map(label), waitedMs: 3000 };
  reap(tree2);
  await second.agent.dispose(500);
  return { pipesClosed, leaderKilled };
}

// ---- cancel -------------------------------------------------------------------------------------

export type CancelFigures = { stopReason: string | undefined; ms: number | undefined; error?: string };

/** A slow turn, session/cancel after 1 s: the stop reason and how long the prompt took to end after it. */
export async function cancelSlowTurn(ctx: ProbeContext): Promise<CancelFigures> {
  const { agent } = await startAgent(ctx);
  try {
    const session = await agent.newSession(ctx.workspace);
    const prompt = "slow 20000 cancel me";
    const running = agent.prompt(session.sessionId, prompt, 30_000);
    await ctx.model.waitForCall((c) => c.userTurns.at(-1) === prompt, 20_000);
    await sleep(1000);
    const t0 = Date.now();
    await agent.cancel(session.sessionId);
    try {
      const result = await running;
      return { stopReason: result.stopReason, ms: Date.now() - t0 };
    } catch (e) {
      return { stopReason: undefined, ms: undefined, error: String(e).split("\n")[0] };
    }
  } finally {
    await finish(agent);
  }
}

// ---- model failures -----------------------------------------------------------------------------

export type FailureFigures = {
  status: number;
  /** How the turn ended: a stop reason with the agent's text, or a JSON-RPC error on session/prompt. */
  stopReason: string | undefined;
  text: string | undefined;
  error: string | undefined;
  ms: number;
  /** How often the agent asked the model (retries; the recipes turn them off). */
  attempts: number;
  /** The next prompt in the same session is answered (within 60 s). */
  recovered: boolean;
  recoverError?: string;
};

/** The model answers HTTP `status` to the turn: what the client sees, and whether the session goes on. */
export async function modelFailure(ctx: ProbeContext, status: 500 | 429): Promise<FailureFigures> {
  const { agent } = await startAgent(ctx);
  try {
    const session = await agent.newSession(ctx.workspace);
    const prompt = `fail ${status} now`;
    const t0 = Date.now();
    let figures: Omit<FailureFigures, "attempts" | "recovered">;
    try {
      const result = await agent.prompt(session.sessionId, prompt, 60_000);
      figures = {
        status,
        stopReason: result.stopReason,
        text: result.text,
        error: undefined,
        ms: Date.now() - t0,
      };
    } catch (e) {
      const error = String(e)
        .split("\n")[0]
        ?.replace(/^Error: session\/prompt failed: /, "");
      figures = { status, stopReason: undefined, text: undefined, error, ms: Date.now() - t0 };
    }
    const attempts = ctx.model.calls.filter(
      (c) => c.at >= t0 && c.userTurns.at(-1) === prompt && c.tools.length > 0,
    ).length;
    try {
      const after = await agent.prompt(session.sessionId, "Are you still there?", 60_000);
      return { ...figures, attempts, recovered: after.text.includes("echo: Are you still there?") };
    } catch (e) {
      return { ...figures, attempts, recovered: false, recoverError: String(e).split("\n")[0] };
    }
  } finally {
    await finish(agent);
  }
}

// ---- start-up warnings --------------------------------------------------------------------------

type Preamble = { text: string; meta: unknown; messageId: string | undefined }[];

export type WarningFigures = {
  modelId: string;
  /** First turn's chunks before the answer, without and with the client advertising session.notices. */
  plain: { preamble: Preamble; firstChunk: string | undefined };
  withNotices: {
    preamble: Preamble;
    notices: unknown[];
    firstChunk: string | undefined;
  };
};

/** A turn with a model id the agent does not know, as a client with and without session.notices. */
export async function startupWarnings(
  ctx: ProbeContext,
  modelId = "fake-unknown-model",
): Promise<WarningFigures> {
  const run = async (notices: boolean) => {
    const { agent } = await startAgent(ctx, { modelId, notices });
    try {
      const session = await agent.newSession(ctx.workspace);
      const result = await agent.prompt(session.sessionId, `hello with notices ${notices}`);
      const noticeUpdates = agent.updates
        .filter((u) => (u.update.sessionUpdate as string) === "notice")
        .map((u) => u.update);
      return { preamble: preambleOf(result), firstChunk: result.chunks[0]?.text, notices: noticeUpdates };
    } finally {
      await finish(agent);
    }
  };
  const plain = await run(false);
  const withNotices = await run(true);
  return {
    modelId,
    plain: { preamble: plain.preamble, firstChunk: plain.firstChunk },
    withNotices,
  };
}
