import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAcpClient } from "../src/acp/acp-client.js";
import type { TurnCallbacks } from "../src/acp/turn-types.js";
import { UserFacingError } from "../src/domain/errors.js";
import type { Attachment } from "../src/domain/turn.js";
import { inProcessAgent } from "./support/in-process-agent.js";
import { makeTempDir } from "./support/temp-dir.js";
import { readAgentEvents } from "./support/test-agent-command.js";

let temp: ReturnType<typeof makeTempDir>;
let stateDir: string;
let cwd: string;
let voice: Attachment;
const OGG = Buffer.from("OggS voice bytes");

beforeEach(() => {
  temp = makeTempDir();
  stateDir = path.join(temp.dir, "agent");
  cwd = path.join(temp.dir, "ws");
  fs.mkdirSync(path.join(cwd, "attachments"), { recursive: true });
  const saved = path.join(cwd, "attachments", "2398-voice.ogg");
  fs.writeFileSync(saved, OGG);
  voice = { path: saved, name: "voice.ogg", mimeType: "audio/ogg", size: OGG.length };
});
afterEach(() => temp.cleanup());

const client = (flags: string[] = []) =>
  createAcpClient({
    argv: ["unused"],
    env: {},
    requestTimeoutMs: 10_000,
    replayQuietMs: 100,
    stopGraceMs: 1_000,
    logger: pino({ level: "silent" }),
    launch: inProcessAgent(["--state-dir", stateDir, "--no-noise", ...flags]),
  });
const callbacks: TurnCallbacks = { onNotice: () => {}, onSessionId: () => {} };
const prompts = () => readAgentEvents(stateDir).filter((e) => e.event === "prompt-start");

describe("voice notes and audio files in the ACP prompt", () => {
  it("sends an audio block to an agent that takes audio, and learns that at initialize", async () => {
    const acp = client(["--audio"]);
    expect(acp.capabilities()).toBeUndefined();
    const asked: string[] = [];
    await acp.runTurn(
      {
        cwd,
        sessionId: undefined,
        model: "auto",
        prompt: [{ type: "text", text: "" }],
        audio: [voice],
        audioAsText: async (file) => {
          asked.push(file.name);
          return "unused";
        },
      },
      callbacks,
    );
    expect(asked).toEqual([]);
    const [prompt] = prompts();
    // The empty caption is dropped: the voice note is the whole prompt.
    expect(prompt).toMatchObject({ texts: [], attached: ["[audio: audio/ogg]"] });
    expect(Buffer.from(String((prompt?.audio as string[] | undefined)?.[0]), "base64")).toEqual(OGG);
    expect(acp.capabilities()?.promptCapabilities?.audio).toBe(true);
  });

  it("sends the text audioAsText gives to an agent that takes no audio, after the caption", async () => {
    const acp = client();
    await acp.runTurn(
      {
        cwd,
        sessionId: undefined,
        model: "auto",
        prompt: [{ type: "text", text: "from the train:" }],
        audio: [voice],
        audioAsText: async (file) => `transcript of ${file.name}`,
      },
      callbacks,
    );
    expect(prompts()[0]).toMatchObject({
      texts: ["from the train:", "transcript of voice.ogg"],
      attached: [],
      audio: [],
    });
    expect(acp.capabilities()?.promptCapabilities?.audio).toBe(false);
  });

  it("fails the turn without prompting when the audio cannot become text", async () => {
    for (const audioAsText of [
      undefined,
      async () => {
        throw new UserFacingError(
          "voice.ogg could not be transcribed (the transcription server answered HTTP 500)",
        );
      },
    ]) {
      const failure = await client()
        .runTurn(
          {
            cwd,
            sessionId: undefined,
            model: "auto",
            prompt: [{ type: "text", text: "" }],
            audio: [voice],
            audioAsText,
          },
          callbacks,
        )
        .catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(UserFacingError);
      expect((failure as Error).message).toMatch(/^voice\.ogg (is audio|could not be transcribed)/);
    }
    expect(prompts()).toEqual([]);
  });
});
