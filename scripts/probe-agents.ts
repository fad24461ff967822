/**
 * Probes the real ACP agents directly over @agentclientprotocol/sdk (no bot), offline against the
 * fake model (test/support/fake-model.ts), and prints what a bridge needs to know about each:
 * start-up time, session/resume|load time, a turn, restart and recall, models, tool permissions in
 * the session's cwd when the process was spawned elsewhere, exit after stdin closes, what survives a
 * crash, cancel, start-up warnings, load replay, RSS.
 *
 *   tsx scripts/probe-agents.ts [--json FILE] [AGENT...]     (default: every pinned agent)
 *
 * Installs the pinned agents first (test/agents/install.ts; cached outside the repo).
 */
import fs from "node:fs";
import { AGENT_PACKAGES, type AgentId, installAgent } from "../test/agents/install.js";
import {
  cancelSlowTurn,
  crashMidTurn,
  createProbeContext,
  exitAfterStdinClose,
  measureStartup,
  modelFailure,
  plainTurn,
  quickRestore,
  restoreSession,
  startupWarnings,
  switchModel,
  toolsInSessionCwd,
} from "../test/agents/probe.js";

const argv = process.argv.slice(2);
const jsonAt = argv.indexOf("--json");
const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const ids = (argv.filter((a, i) => a !== "--json" && i !== jsonAt + 1) as AgentId[]).filter(Boolean);
const agents = ids.length > 0 ? ids : (Object.keys(AGENT_PACKAGES) as AgentId[]);

const out: Record<string, unknown> = {};
const log = (line: string) => process.stdout.write(`${line}\n`);
const short = (value: unknown, n = 160) => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "-");
  return text.length > n ? `${text.slice(0, n)}…` : text;
};

async function step<T>(
  report: Record<string, unknown>,
  name: string,
  run: () => Promise<T>,
): Promise<T | undefined> {
  const t0 = Date.now();
  try {
    const result = await run();
    report[name] = result;
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report[name] = { error: message };
    log(`  ${name}: FAILED after ${Date.now() - t0} ms: ${short(message, 600)}`);
    return undefined;
  }
}

for (const id of agents) {
  const pkg = AGENT_PACKAGES[id];
  const report: Record<string, unknown> = { package: `${pkg.name}@${pkg.version}` };
  out[id] = report;
  log(`\n== ${id} (${pkg.name}@${pkg.version})`);
  try {
    const installed = await installAgent(pkg);
    log(`  install: ${installed.cached ? "cached" : `${installed.tookMs} ms`} (${installed.dir})`);
  } catch (error) {
    log(`  install: ${error instanceof Error ? error.message : String(error)}`);
    report.install = { error: String(error) };
    continue;
  }
  const ctx = await createProbeContext(id);
  try {
    const startup = await step(report, "startup", () => measureStartup(ctx));
    if (startup) {
      const caps = startup.init.agentCapabilities ?? {};
      log(
        `  startup (spawn+initialize+session/new): median ${startup.medianMs} ms, runs ${startup.runs.join("/")} ms (initialize ${startup.initializeMs.join("/")}, new ${startup.newSessionMs.join("/")}); idle RSS ${startup.idleRssMb} MiB`,
      );
      log(
        `  capabilities: loadSession ${caps.loadSession ?? false}, session ${Object.keys(caps.sessionCapabilities ?? {}).join(",") || "-"}, auth methods ${(startup.init.authMethods ?? []).map((m) => m.id).join(",") || "-"}`,
      );
    }
    if (id === "gemini") {
      const env = { GEMINI_CLI_NO_RELAUNCH: "true" };
      const noRelaunch = await step(report, "startupNoRelaunch", () => measureStartup(ctx, 3, env));
      if (noRelaunch) {
        log(
          `  startup with GEMINI_CLI_NO_RELAUNCH=true: median ${noRelaunch.medianMs} ms, runs ${noRelaunch.runs.join("/")} ms; idle RSS ${noRelaunch.idleRssMb} MiB`,
        );
      }
    }
    const turn = await step(report, "turn", () => plainTurn(ctx));
    if (turn) {
      log(
        `  turn: ${short(turn.text, 80)} (${turn.stopReason}); first chunk ${turn.firstChunkMs} ms, done ${turn.ms} ms; peak RSS ${turn.peakRssMb} MiB; updates ${turn.updateKinds.join(",")}; model told cwd ${turn.modelCwd}`,
      );
      if (turn.preamble.length > 0) log(`  turn preamble chunks: ${short(turn.preamble)}`);
    }
    const restore = await step(report, "restore", () => restoreSession(ctx));
    if (restore) {
      log(
        `  SIGTERM to the group right after a turn: gone in ${restore.sigterm.goneMs ?? ">10000"} ms (${short(restore.sigterm.exit)})${restore.waitedMs > 0 ? `; waited ${restore.waitedMs} ms for the next minute` : ""}`,
      );
      for (const [name, r] of [
        [`restart+recall via session/${restore.restore.method}`, restore.restore],
        ["session/load", restore.load],
      ] as const) {
        if (!r) continue;
        log(
          `  ${name}${restore.switchedModel ? ` (after a switch to ${restore.switchedModel})` : ""}: ${r.error ?? `${r.setupMs} ms`}; recall: ${short(r.recallText, 60)} (model ${r.recallModel}); updates ${short(r.kinds)}; ${r.replayedAfterResponse} transcript updates after the response; command messages replayed: ${short(r.commandMessages, 300)}`,
        );
      }
    }
    const quick = await step(report, "quickRestore", () => quickRestore(ctx));
    if (quick) {
      log(
        `  restore ${quick.afterMs} ms after session/new (same minute) via ${quick.method}: ${quick.error ?? short(quick.recallText, 60)}`,
      );
    }
    const models = await step(report, "models", () => switchModel(ctx));
    if (models) {
      log(
        `  models (${models.mechanism}): current ${models.current}; ${models.available.length} listed (${short(models.available.join(","), 120)}); switch to ${models.switchedTo}: ${models.switchError ?? "ok"}; model seen before ${models.modelSeenBefore}, after ${models.modelSeenAfterSwitch}${models.setConfigOptionError ? `; set_config_option: ${models.setConfigOptionError}` : ""}`,
      );
    }
    const tools = await step(report, "tools", () => toolsInSessionCwd(ctx));
    if (tools) {
      for (const kind of ["shell", "write"] as const) {
        const t = tools[kind];
        log(
          `  ${kind} tool (process cwd neutral, session cwd workspace): permission asked ${t.permissions.length}× (${short(t.options.join(" "), 100)}); file in workspace ${t.inWorkspace}, in process cwd ${t.inProcessCwd}; ${short(t.text, 90)}`,
        );
      }
      log(
        `  model told cwd: ${tools.modelCwd === tools.sessionCwd ? "the session's" : tools.modelCwd}; project instructions sent from the workspace ${tools.instructionsFromWorkspace}, from the process cwd ${tools.instructionsFromProcessCwd}; rejected write landed: ${tools.rejectedWriteLanded}`,
      );
    }
    const exit = await step(report, "exit", () => exitAfterStdinClose(ctx));
    if (exit) {
      log(
        `  stdin closed after a turn: leader exited ${exit.leaderExitMs ?? ">10000"} ms, tree gone ${exit.treeGoneMs ?? ">10000"} ms${exit.afterSigtermMs !== undefined ? `, then SIGTERM: ${exit.afterSigtermMs} ms` : ""}; tree: ${exit.tree.join(" | ")}`,
      );
    }
    const crash = await step(report, "crash", () => crashMidTurn(ctx, 10_000, 30_000));
    if (crash) {
      log(
        `  our side gone mid-turn (pipes closed): leader exited ${crash.pipesClosed.leaderExitMs ?? `>${crash.pipesClosed.waitedMs}`} ms; alive after ${crash.pipesClosed.waitedMs} ms: ${crash.pipesClosed.survivorsAfterMs.join(" | ") || "none"}${crash.pipesClosed.survivorsAfterMs.length > 0 ? `; all gone after ${crash.pipesClosed.goneAfterMs ?? ">40000"} ms` : ""}`,
      );
      log(
        `  leader SIGKILLed mid-turn: alive after ${crash.leaderKilled.waitedMs} ms: ${crash.leaderKilled.survivorsAfterMs.join(" | ") || "none"}`,
      );
    }
    const cancel = await step(report, "cancel", () => cancelSlowTurn(ctx));
    if (cancel)
      log(`  session/cancel of a slow turn: ${cancel.stopReason ?? cancel.error} after ${cancel.ms} ms`);
    for (const status of [500, 429] as const) {
      const failure = await step(report, `fail${status}`, () => modelFailure(ctx, status));
      if (failure) {
        log(
          `  model answers ${status}: ${failure.error ? `session/prompt error: ${short(failure.error, 140)}` : `${failure.stopReason} with text ${short(failure.text, 100)}`} after ${failure.ms} ms, ${failure.attempts} attempt(s); next prompt answered: ${failure.recovered}`,
        );
      }
    }
    const warnings = await step(report, "warnings", () => startupWarnings(ctx));
    if (warnings) {
      log(
        `  unknown model ${warnings.modelId}: first chunk ${short(warnings.plain.firstChunk, 100)}; preamble meta ${short(warnings.plain.preamble.map((p) => p.meta ?? null))}; with session.notices: ${warnings.withNotices.notices.length} notice(s) ${short(warnings.withNotices.notices, 200)}, first chunk ${short(warnings.withNotices.firstChunk, 60)}`,
      );
    }
    const unknown = ctx.model.calls.filter((c) => c.api === "unknown").map((c) => `${c.method} ${c.url}`);
    report.unknownModelCalls = [...new Set(unknown)];
    report.modelCalls = ctx.model.calls.length;
    log(
      `  fake model: ${ctx.model.calls.length} calls; unknown paths: ${[...new Set(unknown)].join(", ") || "none"}`,
    );
  } finally {
    await ctx.cleanup();
  }
}

if (jsonFile) fs.writeFileSync(jsonFile, `${JSON.stringify(out, null, 2)}\n`);
