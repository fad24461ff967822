import * as acp from "@agentclientprotocol/sdk";
import type { AgentExit, AgentProcess } from "../../src/acp/agent-process.js";
import { runTestAgent } from "./test-agent-core.js";

/** Thrown by an in-process agent's exit() to unwind the handler that called it. */
class AgentExited extends Error {}

/** A byte pipe: what is written to `writable` comes out of `readable`; `end` closes it from outside. */
function pipe() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  // The reading side may have cancelled the stream already (a client that closed its connection).
  const end = () => {
    if (!open) return;
    open = false;
    try {
      controller.close();
    } catch {
      // already closed by the reader
    }
  };
  const push = (chunk: Uint8Array) => {
    // After the end, writes vanish, as a write to a closed pipe would fail (EPIPE).
    if (!open) return;
    try {
      controller.enqueue(chunk);
    } catch {
      open = false;
    }
  };
  const writable = new WritableStream<Uint8Array>({ write: push, close: end, abort: end });
  return { readable, writable, push, end };
}

let launched = 0;

/**
 * Runs the test ACP agent (test-agent-core.ts) inside the test's process instead of spawning it:
 * `launch(cwd)` gives an {@link AgentProcess} whose stream is a pair of in-memory NDJSON pipes, so
 * the ACP client runs exactly as with a child process, minus the process. Closing stdin (stop) ends
 * the agent as it ends a real one; an agent that does not end within the grace is "killed" (its
 * exit says SIGTERM). Crashes and exits of the agent end its stream like a process death would.
 * Spawning, process groups and signals need the subprocess agent (test-agent-command.ts).
 */
export function inProcessAgent(flags: readonly string[]): InProcessLauncher {
  let running = 0;
  const launch = (cwd: string): AgentProcess => {
    launched += 1;
    running += 1;
    const toAgent = pipe();
    const toClient = pipe();
    const encoder = new TextEncoder();
    let stderr = "";
    let dead = false;
    let resolveExit!: (exit: AgentExit) => void;
    const exited = new Promise<AgentExit>((resolve) => {
      resolveExit = resolve;
    });
    const die = (exit: AgentExit) => {
      if (dead) return;
      dead = true;
      running -= 1;
      resolveExit(exit);
      toClient.end();
      toAgent.end();
    };
    void runTestAgent({
      args: flags,
      stream: acp.ndJsonStream(toClient.writable, toAgent.readable),
      pid: `in-process-${launched}`,
      cwd,
      hasEnv: () => false,
      writeRaw: (text) => toClient.push(encoder.encode(text)),
      writeStderr: (text) => {
        stderr = (stderr + text).slice(-4096);
      },
      exit: (code) => {
        die({ code, signal: null });
        throw new AgentExited(`exit ${code}`);
      },
      alive: () => !dead,
      forkChild: () => undefined,
      escapeChild: () => undefined,
    }).catch((err: unknown) => {
      if (!(err instanceof AgentExited)) die({ code: 1, signal: null, error: err as Error });
    });
    return {
      pid: undefined,
      stream: acp.ndJsonStream(toAgent.writable, toClient.readable),
      exited,
      stderrTail: () => stderr,
      async stop(graceMs) {
        toAgent.end();
        const timer = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
        await Promise.race([exited, timer]);
        die({ code: null, signal: "SIGTERM" });
      },
      kill: () => die({ code: null, signal: "SIGKILL" }),
    };
  };
  return Object.assign(launch, { running: () => running });
}

/** Launches in-process test agents; `running()` counts those that have not exited yet. */
export type InProcessLauncher = ((cwd: string) => AgentProcess) & { running(): number };
