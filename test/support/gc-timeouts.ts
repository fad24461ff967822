/**
 * Run with `node --expose-gc`: waits on the bot's timeouts while a full GC runs every 100 ms, and
 * prints one JSON line per case with how long each took to fire. A timeout that a GC can collect
 * (Node 20: AbortSignal.timeout inside AbortSignal.any) would never fire here.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { createAcpClient } from "../../src/acp/acp-client.js";
import { withDeadline } from "../../src/acp/deadline.js";
import { createTranscriber } from "../../src/transcription/openai-transcriber.js";
import { startFakeTranscription } from "./fake-transcription.js";
import { inProcessAgent } from "./in-process-agent.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write("run with node --expose-gc\n");
  process.exit(2);
}
const collecting = setInterval(gc, 100);

async function timed(name: string, run: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  try {
    await run();
    console.log(JSON.stringify({ name, fired: false }));
  } catch (err) {
    console.log(
      JSON.stringify({ name, fired: true, ms: Date.now() - started, error: (err as Error).message }),
    );
  }
}

await timed("withDeadline", () =>
  withDeadline(
    1_500,
    new AbortController().signal,
    (options) =>
      new Promise((_, reject) =>
        options.cancellationSignal?.addEventListener("abort", () =>
          reject(options.cancellationSignal?.reason),
        ),
      ),
  ),
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-gc-"));
await timed("initialize", () =>
  createAcpClient({
    argv: ["unused"],
    env: {},
    requestTimeoutMs: 1_500,
    replayQuietMs: 0,
    stopGraceMs: 200,
    logger: pino({ level: "silent" }),
    launch: inProcessAgent(["--state-dir", path.join(dir, "agent"), "--hang-on-initialize"]),
  }).runTurn(
    { cwd: dir, sessionId: undefined, prompt: [{ type: "text", text: "hi" }], model: "auto" },
    {
      onNotice: () => {},
      onSessionId: () => {},
    },
  ),
);
const stt = await startFakeTranscription();
stt.hang();
const voice = path.join(dir, "voice.ogg");
fs.writeFileSync(voice, "OggS");
await timed("transcription", () =>
  createTranscriber({
    url: stt.url,
    apiKey: undefined,
    model: "whisper-1",
    timeoutMs: 1_500,
    logger: pino({ level: "silent" }),
  })({ path: voice, name: "voice.ogg", mimeType: "audio/ogg", size: 4 }, new AbortController().signal),
);
await stt.close();
fs.rmSync(dir, { recursive: true, force: true });
clearInterval(collecting);
