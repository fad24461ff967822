/**
 * Benchmark: streams a 20,000-character Markdown answer at about 100 chunks/s from the test agent
 * through the bot to a mock Bot API that enforces Telegram's limits (1.5 s between edits of one
 * message, 20 calls a minute per group, 60 per private chat) with 429s, in a forum topic and in a
 * private chat, and prints: Bot API calls made, the most edits of one message in any second, the
 * most calls to one chat in any minute, 429s received, whether the delivered text equals the
 * agent's, and the time from the agent's first chunk to the first visible text.
 * Usage: npm run bench:stream
 */
import path from "node:path";
import { PROGRESS_HEADER } from "../src/telegram/progress-message.js";
import { startTestApp } from "../test/support/app-fixture.js";
import { type BotApiCall, startMockBotApi } from "../test/support/mock-bot-api.js";
import { streamText, visibleWords } from "../test/support/stream-text.js";
import { makeTempDir } from "../test/support/temp-dir.js";
import { readAgentEvents } from "../test/support/test-agent-command.js";
import {
  FIXTURE_CHAT_ID,
  FIXTURE_USER_ID,
  privateTextUpdate,
  topicTextUpdate,
} from "../test/support/updates.js";

const LENGTH = 20_000;
const CHUNKS_PER_SECOND = 100;
const BUDGETED = new Set(["sendMessage", "editMessageText", "sendMessageDraft", "sendPhoto", "sendDocument"]);

function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function run(kind: "forum topic" | "private chat") {
  const temp = makeTempDir("tg-acp-bench-stream-");
  const api = await startMockBotApi({
    enforce: { editIntervalMs: 1500, groupPerMinute: 20, privatePerMinute: 60 },
  });
  const bot = await startTestApp({
    apiRoot: api.url,
    dir: temp.dir,
    env: {
      LOG_LEVEL: "warn",
      STREAM_EDIT_INTERVAL_MS: "1500",
      GROUP_CHAT_MESSAGES_PER_MINUTE: "20",
      PRIVATE_CHAT_MESSAGES_PER_MINUTE: "60",
    },
  });
  try {
    const prompt = `stream ${LENGTH} ${CHUNKS_PER_SECOND}`;
    const started = Date.now();
    await bot.postUpdate(
      kind === "forum topic" ? topicTextUpdate(prompt, { threadId: 42 }) : privateTextUpdate(prompt),
    );
    await api.until(
      () => readAgentEvents(path.join(temp.dir, "agent")).some((e) => e.event === "prompt-end"),
      120_000,
    );
    await bot.app.idle();
    const elapsed = Date.now() - started;

    const chatId = kind === "forum topic" ? FIXTURE_CHAT_ID : FIXTURE_USER_ID;
    const calls = api.calls.filter((c) => c.payload.chat_id === chatId && BUDGETED.has(c.method));
    const firstChunk =
      readAgentEvents(path.join(temp.dir, "agent")).find((e) => e.event === "first-chunk")?.at ?? 0;
    const isAnswer = (c: BotApiCall) => !String(c.payload.text ?? "").startsWith(PROGRESS_HEADER);
    const firstVisible = calls.find(
      (c) =>
        c.status === 200 && (c.method === "sendMessage" || c.method === "sendMessageDraft") && isAnswer(c),
    )?.at;
    const editsByMessage = new Map<string, number[]>();
    for (const c of calls.filter((c) => c.method === "editMessageText" || c.method === "sendMessageDraft")) {
      const id = String(c.payload.message_id ?? `draft-${c.payload.draft_id}`);
      editsByMessage.set(id, [...(editsByMessage.get(id) ?? []), c.at]);
    }
    const delivered = api
      .messagesIn(kind === "forum topic" ? 42 : undefined, chatId)
      .map((m) => m.text)
      .filter((t) => !t.startsWith(PROGRESS_HEADER))
      .join("\n\n");
    return {
      kind,
      calls: calls.length,
      maxEditsPerMessagePerSecond: Math.max(
        0,
        ...[...editsByMessage.values()].map((t) => maxInWindow(t, 1000)),
      ),
      maxCallsPerChatPerMinute: maxInWindow(
        calls.map((c) => c.at),
        60_000,
      ),
      tooManyRequests: api.tooManyRequests,
      textEqual: visibleWords(delivered).join(" ") === visibleWords(streamText(LENGTH)).join(" "),
      firstVisibleMs: firstVisible === undefined ? Number.NaN : firstVisible - firstChunk,
      totalMs: elapsed,
    };
  } finally {
    await bot.stop();
    await api.close();
    temp.cleanup();
  }
}

const rows = [await run("forum topic"), await run("private chat")];
console.log(
  `stream of ${LENGTH} characters at ~${CHUNKS_PER_SECOND} chunks/s, limits enforced by the mock with 429s`,
);
console.log(
  "| chat | Bot API calls | max edits/message/s | max calls/chat/min | 429s | text equal | first text after first chunk | total |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.kind} | ${r.calls} | ${r.maxEditsPerMessagePerSecond} | ${r.maxCallsPerChatPerMinute} | ${r.tooManyRequests} | ${r.textEqual ? "yes" : "NO"} | ${r.firstVisibleMs} ms | ${(r.totalMs / 1000).toFixed(1)} s |`,
  );
}
