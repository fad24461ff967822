/**
 * Benchmark: streams a 20,000-character Markdown answer at about 100 chunks/s from the test agent
 * through the bot to a mock Bot API that enforces Telegram's limits (1.5 s between edits of one
 * message, 20 calls a minute per group, 60 per private chat) with 429s, in a forum topic and in a
 * private chat, and prints: Bot API calls made, the most edits of one message in any second, the
 * most calls to one chat in any minute, 429s received, whether the delivered text equals the
 * agent's, and the time from the agent's first chunk to the first visible text. Each chat runs with
 * RICH_MESSAGES=off (HTML), final and stream; for those it also prints the answer's messages left in
 * the chat, the rich calls (sendRichMessage, rich edits, rich drafts) and the deleteMessage calls.
 * Usage: npm run bench:stream
 */
import path from "node:path";
import { PROGRESS_HEADER } from "../src/telegram/progress-message.js";
import { startTestApp } from "../test/support/app-fixture.js";
import { type BotApiCall, BUDGETED_METHODS, startMockBotApi } from "../test/support/mock-bot-api.js";
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
/** The calls counted: the budgeted ones and the deletes RICH_MESSAGES=final makes. */
const COUNTED = new Set([...BUDGETED_METHODS, "deleteMessage"]);
const RICH_MODES = ["off", "final", "stream"] as const;

function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function run(kind: "forum topic" | "private chat", richMessages: (typeof RICH_MODES)[number]) {
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
      RICH_MESSAGES: richMessages,
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
    const calls = api.calls.filter((c) => c.payload.chat_id === chatId && COUNTED.has(c.method));
    const firstChunk =
      readAgentEvents(path.join(temp.dir, "agent")).find((e) => e.event === "first-chunk")?.at ?? 0;
    const isAnswer = (c: BotApiCall) => !String(c.payload.text ?? "").startsWith(PROGRESS_HEADER);
    const firstVisible = calls.find(
      (c) =>
        c.status === 200 &&
        ["sendMessage", "sendMessageDraft", "sendRichMessage", "sendRichMessageDraft"].includes(c.method) &&
        isAnswer(c),
    )?.at;
    const editsByMessage = new Map<string, number[]>();
    for (const c of calls.filter((c) =>
      ["editMessageText", "sendMessageDraft", "sendRichMessageDraft"].includes(c.method),
    )) {
      const id = String(c.payload.message_id ?? `draft-${c.payload.draft_id}`);
      editsByMessage.set(id, [...(editsByMessage.get(id) ?? []), c.at]);
    }
    const shown = api
      .messagesIn(kind === "forum topic" ? 42 : undefined, chatId)
      .filter((m) => !m.text.startsWith(PROGRESS_HEADER));
    const delivered = shown.map((m) => m.text).join("\n\n");
    return {
      kind,
      richMessages,
      calls: calls.length,
      messages: shown.length,
      richCalls: calls.filter(
        (c) =>
          c.method === "sendRichMessage" ||
          c.method === "sendRichMessageDraft" ||
          (c.method === "editMessageText" && c.payload.rich_message !== undefined),
      ).length,
      deletes: calls.filter((c) => c.method === "deleteMessage").length,
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

const rows = [];
for (const kind of ["forum topic", "private chat"] as const)
  for (const mode of RICH_MODES) rows.push(await run(kind, mode));
console.log(
  `stream of ${LENGTH} characters at ~${CHUNKS_PER_SECOND} chunks/s, limits enforced by the mock with 429s`,
);
console.log(
  "| chat | RICH_MESSAGES | Bot API calls | rich calls | deletes | messages left | max edits/message/s | max calls/chat/min | 429s | text equal | first text after first chunk | total |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.kind} | ${r.richMessages} | ${r.calls} | ${r.richCalls} | ${r.deletes} | ${r.messages} | ${r.maxEditsPerMessagePerSecond} | ${r.maxCallsPerChatPerMinute} | ${r.tooManyRequests} | ${r.textEqual ? "yes" : "NO"} | ${r.firstVisibleMs} ms | ${(r.totalMs / 1000).toFixed(1)} s |`,
  );
}
