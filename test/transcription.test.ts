import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserFacingError } from "../src/domain/errors.js";
import type { Attachment } from "../src/domain/turn.js";
import { createLogger } from "../src/logger.js";
import { createTranscriber } from "../src/transcription/openai-transcriber.js";
import { type FakeTranscription, startFakeTranscription } from "./support/fake-transcription.js";
import { makeTempDir } from "./support/temp-dir.js";

const KEY = "sk-test-transcribe-key-0123456789";
const OGG = Buffer.from("OggS fake opus bytes");

let fake: FakeTranscription;
let temp: ReturnType<typeof makeTempDir>;
let logLines: string[];
let file: Attachment;

beforeEach(async () => {
  fake = await startFakeTranscription({ apiKey: KEY });
  temp = makeTempDir();
  logLines = [];
  const saved = path.join(temp.dir, "2398-voice.ogg");
  fs.writeFileSync(saved, OGG);
  file = { path: saved, name: "voice.ogg", mimeType: "audio/ogg", size: OGG.length };
});
afterEach(async () => {
  await fake.close();
  temp.cleanup();
});

function transcriber(overrides: { url?: string; apiKey?: string | undefined; timeoutMs?: number } = {}) {
  const logger = createLogger({
    level: "debug",
    secrets: [KEY],
    destination: { write: (line: string) => void logLines.push(line) },
  });
  return createTranscriber({
    url: overrides.url ?? fake.url,
    apiKey: "apiKey" in overrides ? overrides.apiKey : KEY,
    model: "whisper-1",
    timeoutMs: overrides.timeoutMs ?? 5_000,
    logger,
  });
}

const never = new AbortController().signal;

async function failureOf(run: Promise<unknown>): Promise<Error> {
  try {
    await run;
  } catch (err) {
    return err as Error;
  }
  throw new Error("the transcription did not fail");
}

describe("the OpenAI-compatible transcriber", () => {
  it("posts the file, model and response_format with the Bearer key, and returns the trimmed text", async () => {
    fake.answer("  Please run the tests.\n");
    expect(await transcriber()(file, never)).toBe("Please run the tests.");
    expect(fake.requests).toEqual([
      expect.objectContaining({
        authorization: `Bearer ${KEY}`,
        model: "whisper-1",
        responseFormat: "json",
        file: { name: "voice.ogg", type: "audio/ogg", bytes: OGG },
      }),
    ]);
  });

  it("sends no Authorization header without a key (a local server)", async () => {
    const open = await startFakeTranscription();
    try {
      await transcriber({ url: open.url, apiKey: undefined })(file, never);
      expect(open.requests[0]?.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it("fails in one line on an HTTP error, logging its body with the key redacted", async () => {
    const err = await failureOf(transcriber({ apiKey: `${KEY}-wrong` })(file, never));
    expect(err).toBeInstanceOf(UserFacingError);
    expect(err.message).toBe(
      "voice.ogg could not be transcribed (the transcription server answered HTTP 401)",
    );
    const logged = logLines.join("");
    expect(logged).toContain("Incorrect API key provided: [REDACTED]-wrong");
    expect(logged).not.toContain(KEY);

    fake.fail(500);
    expect((await failureOf(transcriber()(file, never))).message).toMatch(/answered HTTP 500\)$/);
    fake.fail(200, JSON.stringify({ transcript: "wrong field" }));
    expect((await failureOf(transcriber()(file, never))).message).toMatch(/answer has no text\)$/);
  });

  it("gives up after the timeout with an explicit timer, closing the request", async () => {
    fake.hang();
    const err = await failureOf(transcriber({ timeoutMs: 300 })(file, never));
    expect(err).toBeInstanceOf(UserFacingError);
    expect(err.message).toBe("voice.ogg could not be transcribed (no transcript within 300 ms)");
    await fake.until(() => fake.abandoned === 1);
  });

  it("stops when the turn is cancelled, with the cancel's error rather than a line", async () => {
    fake.hang();
    const cancel = new AbortController();
    const running = transcriber()(file, cancel.signal);
    await fake.until(() => fake.requests.length === 1);
    cancel.abort("user");
    const err = await failureOf(running);
    expect(err).not.toBeInstanceOf(UserFacingError);
    await fake.until(() => fake.abandoned === 1);
  });

  it("names the network error when the server cannot be reached", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failureOf(
      transcriber({ url: `http://127.0.0.1:${port}/v1/audio/transcriptions` })(file, never),
    );
    expect(err.message).toBe(
      "voice.ogg could not be transcribed (the transcription server could not be reached: ECONNREFUSED)",
    );
  });
});
