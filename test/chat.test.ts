import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chatTurn } from "../src/cli/chat-turn.js";
import { createConfig } from "../src/config.js";
import { openDatabase } from "../src/db/database.js";
import { createSessionStore } from "../src/db/session-store.js";
import { runCliEntry } from "./support/run-cli.js";
import { makeTempDir } from "./support/temp-dir.js";
import { readAgentEvents, testAgentCommand } from "./support/test-agent-command.js";

let temp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

/** The bot's settings for the chat CLI: database, workspaces, the test agent; no Telegram variables. */
const chatEnv = (flags: string[] = []) => ({
  DATABASE_PATH: path.join(temp.dir, "tg-acp.db"),
  WORKSPACE_BASE_PATH: path.join(temp.dir, "workspaces"),
  ACP_AGENT_COMMAND: testAgentCommand(path.join(temp.dir, "agent"), flags),
  AGENT_STOP_GRACE_MS: "1000",
});
const chat = (args: string[], flags: string[] = []) =>
  runCliEntry("chat", args, { env: chatEnv(flags), cwd: temp.dir });
const key = ["--chat-id", "1", "--thread-id", "1", "--user-id", "1"];

describe("npm run chat", () => {
  it("runs the seeds' demo: a second run recalls the number the first one was told", async () => {
    const first = await chat([...key, "Remember this number: 1234"]);
    expect(first).toEqual({ code: 0, stdout: "Got it, I memorized 1234.\n", stderr: "" });
    const second = await chat([...key, "What number did I ask you to remember?"]);
    expect(second).toEqual({ code: 0, stdout: "You asked me to remember 1234.\n", stderr: "" });

    // Through the bot's own session store and workspace layout; the second run loaded the session.
    const database = openDatabase(path.join(temp.dir, "tg-acp.db"));
    const row = createSessionStore(database).get({ chatId: 1, threadId: 1, userId: 1 });
    database.close();
    expect(row?.workspacePath).toBe(path.join(temp.dir, "workspaces", "1", "1", "1"));
    const events = readAgentEvents(path.join(temp.dir, "agent"));
    expect(events.filter((e) => e.event === "session/load").map((e) => e.sessionId)).toEqual([
      row?.sessionId,
    ]);

    // Another topic of the same chat knows nothing of it.
    const other = await chat([
      "--chat-id",
      "1",
      "--thread-id",
      "2",
      "--user-id",
      "1",
      "What number did I ask you to remember?",
    ]);
    expect(other.stdout).not.toContain("1234");
  });

  it("exits 1 with the reason on stderr when the agent fails the turn", async () => {
    const result = await chat([...key, "crash"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "⚠️ The agent could not answer: the agent exited with code 3 during session/prompt.\n",
    );
  });

  it("exits 2 with the usage on bad arguments, before starting anything", async () => {
    for (const args of [["--chat-id", "1", "hello"], [...key], ["--chat-id", "x", "--user-id", "1", "hi"]]) {
      const result = await chat(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^tg-acp chat: .+\nusage: chat --chat-id N/);
    }
    expect(readAgentEvents(path.join(temp.dir, "agent"))).toEqual([]);
  });

  it("takes a group's negative chat id after --chat-id", async () => {
    const result = await chat(["--chat-id", "-1001234", "--user-id", "1", "Remember this number: 77"]);
    expect(result).toEqual({ code: 0, stdout: "Got it, I memorized 77.\n", stderr: "" });
    const database = openDatabase(path.join(temp.dir, "tg-acp.db"));
    expect(
      createSessionStore(database).get({ chatId: -1001234, threadId: 0, userId: 1 })?.sessionId,
    ).toBeTruthy();
    database.close();
  });

  it("streams the answer chunk by chunk as the agent sends it", async () => {
    const writes: string[] = [];
    const config = createConfig(
      {
        TELEGRAM_BOT_TOKEN: "1:unused-by-this-test-000000000000",
        TELEGRAM_WEBHOOK_SECRET: "unused",
        ...chatEnv(["--no-noise"]),
      },
      process.cwd(),
    );
    const result = await chatTurn({
      config,
      env: process.env,
      cwd: process.cwd(),
      logger: pino({ level: "silent" }),
      key: { chatId: 5, threadId: 0, userId: 5 },
      text: "long 900",
      streams: { out: { write: (text: string) => writes.push(text) }, err: { write: () => {} } },
    });
    expect(result).toEqual({ ok: true });
    // The test agent sends 400-character chunks: three writes, then the closing newline.
    expect(writes).toEqual(["x".repeat(400), "x".repeat(400), "x".repeat(100), "\n"]);
  });
});
