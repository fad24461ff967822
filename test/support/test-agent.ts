/**
 * The test ACP agent as a subprocess (see test-agent-core.ts): serves ACP on its stdio, in its own
 * process, so spawning, process groups, signals and exit codes are real.
 */
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import * as acp from "@agentclientprotocol/sdk";
import { runTestAgent } from "./test-agent-core.js";

let exiting = false;
await runTestAgent({
  args: process.argv.slice(2),
  stream: acp.ndJsonStream(
    Writable.toWeb(process.stdout) as WritableStream<Uint8Array>,
    Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>,
  ),
  pid: process.pid,
  cwd: process.cwd(),
  hasEnv: (name) => name in process.env,
  writeRaw: (text) => void process.stdout.write(text),
  writeStderr: (text) => void process.stderr.write(text),
  exit: (code) => {
    exiting = true;
    process.exit(code);
  },
  alive: () => !exiting,
  escapeChild: () => {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
      stdio: "ignore",
      detached: true,
    });
    child.unref();
    return child.pid;
  },
  forkChild: () => {
    // A grandchild in the same process group that would outlive the agent if only the agent were killed.
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    return child.pid;
  },
}).then(
  () => {
    // --ignore-stdin-close: linger until signalled, as an agent waiting on a model call would.
    if (process.argv.includes("--ignore-stdin-close")) setInterval(() => {}, 1000);
  },
  (err: unknown) => {
    process.stderr.write(`test-agent: ${(err as Error).message}\n`);
    process.exit(2);
  },
);
