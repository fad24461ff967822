import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import * as acp from "@agentclientprotocol/sdk";
import type { Logger } from "../logger.js";
import { AGENT_MARKER_ENV, signalGroup } from "./process-sweep.js";
import { junkLineDetector } from "./stdout-junk.js";

/** How an agent process ended: exit code or signal, or the error that kept it from starting. */
export type AgentExit = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/** A running ACP agent subprocess: its stdio as an ACP stream, and a gentle way to end it. */
export type AgentProcess = {
  readonly pid: number | undefined;
  /** The TG_ACP_AGENT marker in its environment (and its children's), when it was given one. */
  readonly marker?: string;
  /** ACP JSON-RPC over the child's stdin/stdout (NDJSON, ACP "Transports"). */
  readonly stream: acp.Stream;
  /** Resolves when the child has exited (or failed to spawn). */
  readonly exited: Promise<AgentExit>;
  /** The last ~4 KB the agent wrote on stderr, for error messages and logs. */
  stderrTail(): string;
  /**
   * Ends the agent gently: closes stdin, waits up to 1 s (at most `graceMs`) for it to exit, sends
   * SIGTERM to the whole process group, waits `graceMs`, and only then sends SIGKILL. Leftover group members (children
   * that outlived the agent) get the same treatment. Never throws.
   */
  stop(graceMs: number): Promise<void>;
  /** Ends the whole process group at once (SIGKILL): for a shutdown that cannot wait any longer. */
  kill(): void;
};

const STDERR_TAIL_BYTES = 4096;
/** How long an agent may take to exit by itself once its stdin closed, before SIGTERM, ms. */
const STDIN_EXIT_WAIT_MS = 1_000;

/**
 * Spawns `argv` without a shell, in its own process group (so the group can be signalled, since some
 * agents fork a child that outlives a killed parent), with `cwd` and exactly `env`.
 * Spawn failures (ENOENT, EACCES) do not throw: they surface through `exited` and a closed stream.
 */
export function spawnAgent(options: {
  argv: readonly [string, ...string[]];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Put into the environment as TG_ACP_AGENT, so the agent's children can be found later. */
  marker?: string;
  logger: Logger;
}): AgentProcess {
  const [command, ...args] = options.argv;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.marker === undefined ? options.env : { ...options.env, [AGENT_MARKER_ENV]: options.marker },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const log = options.logger.child({ agentPid: child.pid });

  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    log.debug({ agentStderr: chunk.trimEnd() }, "agent stderr");
  });
  // A write after the agent exited raises EPIPE on stdin; the exit itself is what matters.
  child.stdin?.on("error", (err) => log.debug({ err }, "agent stdin error"));

  const exited = new Promise<AgentExit>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then((exit) => {
    hasExited = true;
    log.debug({ exit: { code: exit.code, signal: exit.signal, error: exit.error?.message } }, "agent exited");
  });

  let junkLines = 0;
  const stdout = (Readable.toWeb(child.stdout as Readable) as ReadableStream<Uint8Array>).pipeThrough(
    junkLineDetector((sample) => {
      junkLines += 1;
      // Once per process (one turn): the SDK answers each such line with -32700 and reads on.
      if (junkLines === 1)
        log.warn({ sample }, "the agent wrote a line on stdout that is not JSON-RPC; ignored");
    }),
  );
  const stream = acp.ndJsonStream(
    Writable.toWeb(child.stdin as Writable) as WritableStream<Uint8Array>,
    stdout,
  );

  return {
    pid: child.pid,
    ...(options.marker !== undefined ? { marker: options.marker } : {}),
    stream,
    exited,
    stderrTail: () => stderr,
    stop: async (graceMs) => {
      child.stdin?.end();
      // An agent that exits when its stdin closes does so at once; one that does not gets SIGTERM soon.
      if (!hasExited) await Promise.race([exited, sleep(Math.min(graceMs, STDIN_EXIT_WAIT_MS))]);
      await endGroup(child, hasExited, exited, graceMs, log);
    },
    kill: () => {
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
    },
  };
}

async function endGroup(
  child: ChildProcess,
  leaderExited: boolean,
  exited: Promise<AgentExit>,
  graceMs: number,
  log: Logger,
): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  if (!signalGroup(pgid, "SIGTERM")) return;
  if (!leaderExited) log.info({ graceMs }, "agent did not exit after stdin closed; sent SIGTERM");
  const deadline = Date.now() + graceMs;
  await Promise.race([exited, sleep(graceMs)]);
  while (Date.now() < deadline && signalGroup(pgid, 0)) await sleep(25);
  if (signalGroup(pgid, 0)) {
    log.warn({ graceMs }, "agent process group still alive after SIGTERM; sending SIGKILL");
    signalGroup(pgid, "SIGKILL");
    await Promise.race([once(child, "exit"), sleep(graceMs)]);
  }
}
