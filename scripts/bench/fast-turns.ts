/**
 * Fast-turn measurements through the bot (startTestApp, the test agent as a real subprocess, the
 * mock Bot API), each beside its baseline in the same run:
 * (e) first visible text after the POST in a fresh topic with an agent whose initialize takes 1.5 s,
 *     warm spares off and on, beside the same agent with an instant initialize;
 * (f) a one-line answer: Bot API calls and the complete text's delay after the agent's turn ended;
 * (g) three topics of one group streaming 12,000 characters each while a fourth topic's turn is
 *     cancelled, against a mock that enforces 20 calls/min per group and 1 edit/s per message;
 * (i) a follow-up in a known topic, keep-alive off and on, beside the agent's own prompt time.
 */

import { spawn } from "node:child_process";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import * as acp from "@agentclientprotocol/sdk";
import { startTestApp, type TestApp } from "../../test/support/app-fixture.js";
import { type MockBotApi, startMockBotApi } from "../../test/support/mock-bot-api.js";
import { streamText, visibleWords } from "../../test/support/stream-text.js";
import { makeTempDir } from "../../test/support/temp-dir.js";
import { readAgentEvents, testAgentArgv } from "../../test/support/test-agent-command.js";
import { asCommand, privateTextUpdate, topicTextUpdate } from "../../test/support/updates.js";

const INIT_DELAY_MS = 1_500;

/** Runs `body` against a fresh mock Bot API and a bot with the test agent as a subprocess. */
async function withBot<T>(
  options: {
    agentFlags?: string[];
    env?: Record<string, string>;
    enforce?: Parameters<typeof startMockBotApi>[0];
  },
  body: (bot: TestApp, api: MockBotApi, events: () => ReturnType<typeof readAgentEvents>) => Promise<T>,
): Promise<T> {
  const temp = makeTempDir("tg-acp-bench-fast-");
  const api = await startMockBotApi(options.enforce ?? {});
  try {
    const bot = await startTestApp({
      apiRoot: api.url,
      dir: temp.dir,
      agent: "subprocess",
      agentFlags: ["--no-noise", ...(options.agentFlags ?? [])],
      env: { LOG_LEVEL: "warn", ...options.env },
    });
    try {
      return await body(bot, api, () => readAgentEvents(path.join(temp.dir, "agent")));
    } finally {
      await bot.stop();
    }
  } finally {
    await api.close();
    temp.cleanup();
  }
}

/** POSTs `text` into forum topic `threadId` and resolves with ms from the POST to its first text at the mock. */
async function firstText(bot: TestApp, api: MockBotApi, threadId: number, text: string): Promise<number> {
  const before = api.calls.length;
  const started = Date.now();
  await bot.postUpdate(topicTextUpdate(text, { threadId }));
  const shown = await api.waitFor(
    (c) =>
      api.calls.indexOf(c) >= before &&
      (c.method === "sendMessage" || c.method === "sendMessageDraft") &&
      c.payload.message_thread_id === threadId,
    60_000,
  );
  return shown.at - started;
}

/** (e) ms from POST to first text, `samples` fresh topics each: spares off, on, and an instant agent. */
export async function measureColdStart(samples: number) {
  const run = (flags: string[], spares: string) =>
    withBot({ agentFlags: flags, env: { AGENT_WARM_SPARES: spares } }, async (bot, api, events) => {
      const out: number[] = [];
      for (let i = 0; i < samples; i++) {
        // With spares, wait until one is up (past initialize) and idle, as between a user's messages.
        if (spares !== "0") {
          await api.until(() => events().filter((e) => e.event === "initialized").length > i, 30_000);
        }
        out.push(await firstText(bot, api, 3000 + i, "hello"));
      }
      return out;
    });
  const slow = ["--init-delay", String(INIT_DELAY_MS)];
  return {
    sparesOff: await run(slow, "0"),
    sparesOn: await run(slow, "1"),
    instant: await run([], "0"),
    initDelayMs: INIT_DELAY_MS,
  };
}

/** (f) a one-line answer in a forum topic and in a private chat: calls and delay after the turn's end. */
export async function measureOneLine() {
  return withBot({ env: { AGENT_WARM_SPARES: "1" } }, async (bot, api, events) => {
    const results: Array<{ chat: string; sends: number; edits: number; drafts: number; afterEndMs: number }> =
      [];
    for (const [chat, update, threadId] of [
      ["forum topic", topicTextUpdate("hello", { threadId: 77 }), 77],
      ["private chat", privateTextUpdate("hello"), undefined],
    ] as const) {
      const before = api.calls.length;
      await bot.postUpdate(update);
      const sent = await api.waitFor(
        (c) =>
          api.calls.indexOf(c) >= before &&
          c.method === "sendMessage" &&
          c.payload.message_thread_id === threadId,
      );
      await bot.app.idle();
      const mine = api.calls.slice(before);
      const end =
        events()
          .filter((e) => e.event === "prompt-end")
          .at(-1)?.at ?? Number.NaN;
      results.push({
        chat,
        sends: mine.filter((c) => c.method === "sendMessage").length,
        edits: mine.filter((c) => c.method === "editMessageText").length,
        drafts: mine.filter((c) => c.method === "sendMessageDraft").length,
        afterEndMs: sent.at - end,
      });
    }
    return results;
  });
}

/** (g) 3 topics streaming 12,000 characters at once and a /cancel in a 4th; Telegram's limits enforced. */
export async function measureBusyGroup() {
  const CHARS = 12_000;
  return withBot(
    {
      enforce: { enforce: { editIntervalMs: 1_000, groupPerMinute: 20 } },
      env: {
        AGENT_WARM_SPARES: "0",
        STREAM_EDIT_INTERVAL_MS: "1500",
        GROUP_CHAT_MESSAGES_PER_MINUTE: "20",
        CHAT_MIN_INTERVAL_MS: "1000",
      },
    },
    async (bot, api, events) => {
      const started = Date.now();
      await bot.postUpdate(topicTextUpdate("sleep 600000", { threadId: 4 }));
      for (const threadId of [1, 2, 3])
        await bot.postUpdate(topicTextUpdate(`stream ${CHARS} 100`, { threadId }));
      // Cancel once all three stream (their first messages are out).
      await api.until(() => [1, 2, 3].every((t) => api.messagesIn(t).length > 0), 120_000);
      await api.until(() => events().some((e) => e.event === "prompt-start" && e.text === "sleep 600000"));
      const cancelAt = Date.now();
      await bot.postUpdate(asCommand(topicTextUpdate("/cancel", { threadId: 4 })));
      const confirmed = await api.waitFor(
        (c) =>
          c.payload.message_thread_id === 4 && /Cancelling the running turn/.test(String(c.payload.text)),
      );
      const stopped = await api.waitFor(
        (c) => c.payload.message_thread_id === 4 && /Stopped: cancelled/.test(String(c.payload.text)),
        120_000,
      );
      await bot.app.idle();
      const expected = streamText(CHARS);
      const words = visibleWords(expected).join(" ");
      const complete = [1, 2, 3].every(
        (t) =>
          visibleWords(
            api
              .messagesIn(t)
              .map((m) => m.text)
              .join("\n\n"),
          ).join(" ") === words,
      );
      const budgeted = api.calls.filter(
        (c) => ["sendMessage", "editMessageText", "sendMessageDraft"].includes(c.method) && c.status === 200,
      );
      return {
        confirmMs: confirmed.at - cancelAt,
        stoppedMs: stopped.at - cancelAt,
        complete,
        maxPerMinute: maxInWindow(
          budgeted.map((c) => c.at),
          60_000,
        ),
        tooManyRequests: api.tooManyRequests,
        calls: budgeted.length,
        totalMs: Date.now() - started,
      };
    },
  );
}

/** (i) a follow-up in a known topic: POST -> first text, keep-alive off and on, and the bare agent's prompt time. */
export async function measureFollowUp(samples: number) {
  const run = (keepAlive: string) =>
    withBot({ env: { AGENT_WARM_SPARES: "0", AGENT_KEEP_ALIVE_MS: keepAlive } }, async (bot, api) => {
      await firstText(bot, api, 5, "hello");
      await bot.app.idle();
      const out: number[] = [];
      for (let i = 0; i < samples; i++) {
        out.push(await firstText(bot, api, 5, `again ${i}`));
        await bot.app.idle();
      }
      return out;
    });
  return {
    keepAliveOff: await run("0"),
    keepAliveOn: await run("600000"),
    agentPrompt: await bareFollowUps(samples),
  };
}

/** The bare test agent's own time for a follow-up prompt on a live session: request -> response, ms. */
async function bareFollowUps(samples: number): Promise<number[]> {
  const temp = makeTempDir("tg-acp-bench-bare-");
  const [command, ...args] = testAgentArgv(path.join(temp.dir, "agent"), ["--no-noise"]);
  const child = spawn(command, args, { cwd: temp.dir, stdio: ["pipe", "pipe", "inherit"] });
  try {
    const connection = acp
      .client({ name: "bench" })
      .connect(
        acp.ndJsonStream(
          Writable.toWeb(child.stdin) as WritableStream<Uint8Array>,
          Readable.toWeb(child.stdout) as ReadableStream<Uint8Array>,
        ),
      );
    await connection.agent.request(acp.methods.agent.initialize, { protocolVersion: acp.PROTOCOL_VERSION });
    const { sessionId } = await connection.agent.request(acp.methods.agent.session.new, {
      cwd: temp.dir,
      mcpServers: [],
    });
    const prompt = (text: string) =>
      connection.agent.request(acp.methods.agent.session.prompt, {
        sessionId,
        prompt: [{ type: "text", text }],
      });
    await prompt("hello");
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await prompt(`again ${i}`);
      out.push(performance.now() - started);
    }
    return out;
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin.end();
    await exited;
    temp.cleanup();
  }
}

/** The most timestamps in any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
