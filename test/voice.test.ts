import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import type { Update } from "telegraf/types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentClientOptions } from "../src/agent-options.js";
import { type FakeTranscription, startFakeTranscription } from "./support/fake-transcription.js";
import { useBotHarness } from "./support/harness.js";
import { fixtureUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const KEY = "sk-voice-test-key-0123456789abcdef";
const OGG = Buffer.from("OggS\u0000fake opus voice note");
const MP3 = Buffer.from("ID3fake mp3 standup notes");
const NO_ROUTE =
  /voice notes and audio files need TRANSCRIBE_URL \(a speech-to-text server\) or an agent that takes audio/i;

let stt: FakeTranscription;
beforeEach(async () => {
  stt = await startFakeTranscription({ apiKey: KEY });
});
afterEach(async () => {
  await stt.close();
});

type FileFields = { file_id: string; file_size?: number };
type Media = { message: { message_id: number; caption?: string; voice?: FileFields; audio?: FileFields } };

/** The voice note fixture (its OGG bytes served by the mock), optionally with a caption or from another user. */
function voiceUpdate(options: { caption?: string; userId?: number; size?: number } = {}) {
  const update = fixtureUpdate("supergroup_topic_voice");
  const message = (update as unknown as Media).message;
  const voice = message.voice as FileFields;
  if (options.caption !== undefined) message.caption = options.caption;
  if (options.userId !== undefined) update.message.from.id = options.userId;
  if (options.size !== undefined) voice.file_size = options.size;
  h.api.addFile(voice.file_id, OGG);
  return update;
}

/** The audio file fixture (standup.mp3, with a caption). */
function audioUpdate() {
  const update = fixtureUpdate("supergroup_topic_audio");
  h.api.addFile((update as unknown as Media).message.audio?.file_id ?? "", MP3);
  return update;
}

const messageIdOf = (update: Update) => (update as unknown as Media).message.message_id;
const savedAs = (update: Update, name: string) =>
  path.join(
    h.dir,
    "workspaces",
    "-1001234567890",
    String(T),
    "111222333",
    "attachments",
    `${messageIdOf(update)}-${name}`,
  );
const prompts = () => h.agentEvents().filter((e) => e.event === "prompt-start");
const transcribing = () => ({ TRANSCRIBE_URL: stt.url, TRANSCRIBE_API_KEY: KEY });

describe("voice notes and audio files", () => {
  it("sends a voice note as an audio block to an agent that takes audio, and saves it", async () => {
    const bot = await h.start({ agentFlags: ["--audio"], env: transcribing() });
    const update = voiceUpdate();
    await bot.postUpdate(update);
    await h.waitForText(T, /^echo: +\[audio: audio\/ogg\]$/);
    const [prompt] = prompts();
    expect(prompt?.texts).toEqual([]);
    expect(Buffer.from(String((prompt?.audio as string[] | undefined)?.[0]), "base64")).toEqual(OGG);
    expect(fs.readFileSync(savedAs(update, "voice.ogg"))).toEqual(OGG);
    expect(stt.requests).toEqual([]);
  });

  it("transcribes for an agent that takes no audio: one quoted line in the topic, the text to the agent", async () => {
    const bot = await h.start({ env: transcribing() });
    stt.answer("Please open issues for the three bugs.");
    const update = audioUpdate();
    await bot.postUpdate(update);
    await h.waitForText(T, /^echo: Notes from today's standup/);
    await bot.app.idle();
    expect(h.textsIn(T)).toEqual([
      "🎤 «Please open issues for the three bugs.»",
      "echo: Notes from today's standup: turn them into issues\nPlease open issues for the three bugs.",
    ]);
    expect(prompts()[0]).toMatchObject({ attached: [], audio: [] });
    expect(stt.requests).toEqual([
      expect.objectContaining({
        authorization: `Bearer ${KEY}`,
        model: "whisper-1",
        file: { name: "standup.mp3", type: "audio/mpeg", bytes: MP3 },
      }),
    ]);
    expect(fs.readFileSync(savedAs(update, "standup.mp3"))).toEqual(MP3);

    // A voice note without a caption: the transcript is the whole prompt.
    stt.answer("  what changed\nsince yesterday? ");
    await bot.postUpdate(voiceUpdate());
    await h.waitForText(T, /^echo: what changed\nsince yesterday\?$/);
    expect(h.textsIn(T)).toContain("🎤 «what changed since yesterday?»");
    expect(stt.requests[1]?.file).toMatchObject({ name: "voice.ogg", type: "audio/ogg" });
  });

  it("without TRANSCRIBE_URL: refused in one line once the agent is known to take no audio", async () => {
    const bot = await h.start();
    // The first voice note comes before any agent has answered initialize: its turn finds out.
    await bot.postUpdate(voiceUpdate());
    const failed = await h.waitForText(T, NO_ROUTE);
    expect(failed).toMatch(/^⚠️ The agent could not answer: voice notes and audio files need TRANSCRIBE_URL/);
    expect(prompts()).toEqual([]);

    await bot.postUpdate(topicTextUpdate("hello", { threadId: T }));
    await h.waitForText(T, /^echo: hello$/);
    await bot.app.idle();
    const fetched = h.api.callsOf("getFile").length;
    await bot.postUpdate(audioUpdate());
    const refused = await h.waitForText(T, /^🎤/);
    expect(refused).toBe(
      "🎤 Voice notes and audio files need TRANSCRIBE_URL (a speech-to-text server) or an agent that takes audio; this one was not sent to the agent.",
    );
    await bot.app.idle();
    expect(h.api.callsOf("getFile")).toHaveLength(fetched);
    expect(prompts()).toHaveLength(1);
  });

  it("ends the turn in one line when the transcription times out or fails, prompting nothing", async () => {
    const bot = await h.start({ env: { ...transcribing(), TRANSCRIBE_TIMEOUT_MS: "300" } });
    stt.hang();
    await bot.postUpdate(voiceUpdate());
    const timedOut = await h.waitForText(T, /could not be transcribed/);
    expect(timedOut).toBe(
      "⚠️ The agent could not answer: voice.ogg could not be transcribed (no transcript within 300 ms).",
    );
    await stt.until(() => stt.abandoned === 1);

    stt.fail(500);
    await bot.postUpdate(voiceUpdate());
    await h.waitForText(
      T,
      /voice\.ogg could not be transcribed \(the transcription server answered HTTP 500\)\.$/,
    );
    await bot.app.idle();
    expect(prompts()).toEqual([]);
    expect(h.textsIn(T).filter((text) => text.startsWith("🎤"))).toEqual([]);
  });

  it("refuses a transcript over the prompt limit like a long text", async () => {
    const bot = await h.start({ env: transcribing() });
    stt.answer("word ".repeat(20_001));
    await bot.postUpdate(voiceUpdate({ caption: "ok" }));
    const refused = await h.waitForText(T, /characters/);
    expect(refused).toBe(
      "⚠️ The agent could not answer: the transcript of voice.ogg makes a prompt of 100,006 characters; the limit is 100,000.",
    );
    await bot.app.idle();
    expect(prompts()).toEqual([]);
  });

  it("never downloads a stranger's voice note, and refuses files over 20 MB before downloading", async () => {
    const bot = await h.start({ agentFlags: ["--audio"], env: transcribing() });
    await bot.postUpdate(voiceUpdate({ userId: 424242 }));
    await h.api.until(() => bot.logLines.some((line) => line.includes("not in ALLOWED_USER_IDS ignored")));

    await bot.postUpdate(voiceUpdate({ size: 21 * 1024 * 1024 }));
    await h.waitForText(T, /^📎 voice\.ogg is over the 20 MB that bots can download from Telegram/);
    const big = audioUpdate();
    ((big as unknown as Media).message.audio as FileFields).file_size = 20 * 1024 * 1024 + 1;
    await bot.postUpdate(big);
    await h.waitForText(T, /^📎 standup\.mp3 is over the 20 MB/);
    await bot.app.idle();
    expect(h.api.callsOf("getFile")).toEqual([]);
    expect(h.agentEvents()).toEqual([]);
    expect(stt.requests).toEqual([]);
  });

  it("keeps a voice note's place in the topic's queue while it is transcribed", async () => {
    const bot = await h.start({ env: { ...transcribing(), INPUT_DEBOUNCE_MS: "0" } });
    stt.hold();
    await bot.postUpdate(voiceUpdate());
    await bot.postUpdate(topicTextUpdate("after the voice note", { threadId: T }));
    await stt.until(() => stt.requests.length === 1);
    stt.release("spoken first");
    await bot.app.idle();
    expect(prompts().map((e) => e.text)).toEqual(["spoken first", "after the voice note"]);
  });

  it("keeps the API key out of the logs (even when the server echoes it) and out of the agent's environment", async () => {
    const other = await startFakeTranscription({ apiKey: "a-different-key-0000" });
    try {
      const env = { TRANSCRIBE_URL: other.url, TRANSCRIBE_API_KEY: KEY, COPY_OF_THE_KEY: KEY };
      const bot = await h.start({ agent: "subprocess", env });
      await bot.postUpdate(voiceUpdate());
      await h.waitForText(T, /answered HTTP 401\)\.$/);
      await bot.app.idle();
      const logs = bot.logLines.join("");
      expect(logs).toContain("Incorrect API key provided: [REDACTED]");
      expect(logs).not.toContain(KEY);
      const starts = h.agentEvents().filter((e) => e.event === "start");
      expect(starts.length).toBeGreaterThan(0);
      expect(starts.every((e) => e.envHasTranscribeKey === false)).toBe(true);
      const agentEnv = agentClientOptions(
        bot.config,
        { ...process.env, ...env },
        pino({ level: "silent" }),
      ).env;
      expect(Object.values(agentEnv)).not.toContain(KEY);
    } finally {
      await other.close();
    }
  });
});
