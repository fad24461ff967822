/**
 * Benchmark: an agent that floods, 1,840,000 characters in about 20 s (the hardening issue's case),
 * through the bot to a mock Bot API that enforces Telegram's limits (20 calls a minute per group,
 * 1 edit per 1.5 s per message, 429s), in a forum topic with the default MAX_ANSWER_CHARS (50,000).
 * Prints the messages posted, the documents sent, the time from the POST to the last Bot API call,
 * and the RSS of the benchmark's process (the bot and the mock Bot API; the agent runs as a
 * subprocess, not counted) before the turn and at its peak.
 * Usage: npm run bench:flood
 */
import path from "node:path";
import { startTestApp } from "../test/support/app-fixture.js";
import { startMockBotApi } from "../test/support/mock-bot-api.js";
import { makeTempDir } from "../test/support/temp-dir.js";
import { readAgentEvents } from "../test/support/test-agent-command.js";
import { topicTextUpdate } from "../test/support/updates.js";

const CHARS = 1_840_000;
const CHUNK = 2_000;
const PER_SECOND = Math.ceil(CHARS / CHUNK / 20);
const THREAD = 42;

const temp = makeTempDir("tg-acp-bench-flood-");
const api = await startMockBotApi({
  enforce: { editIntervalMs: 1500, groupPerMinute: 20, privatePerMinute: 60 },
});
const bot = await startTestApp({
  apiRoot: api.url,
  dir: temp.dir,
  agent: "subprocess",
  env: {
    LOG_LEVEL: "warn",
    STREAM_EDIT_INTERVAL_MS: "1500",
    GROUP_CHAT_MESSAGES_PER_MINUTE: "20",
    CHAT_MIN_INTERVAL_MS: "1000",
  },
});
let peak = process.memoryUsage().rss;
const before = peak;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 100);
try {
  const started = Date.now();
  await bot.postUpdate(topicTextUpdate(`stream ${CHARS} ${PER_SECOND} ${CHUNK}`, { threadId: THREAD }));
  await api.until(
    () => readAgentEvents(path.join(temp.dir, "agent")).some((e) => e.event === "prompt-end"),
    300_000,
  );
  const agentDone = Date.now() - started;
  await bot.app.idle();
  const inTopic = api.calls.filter((c) => c.payload.message_thread_id === THREAD && c.status === 200);
  const last = Math.max(...api.calls.map((c) => c.at)) - started;
  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  console.log(
    `flood: ${CHARS.toLocaleString("en")} characters in ${CHUNK}-character chunks, ${PER_SECOND}/s`,
  );
  console.log(`agent finished streaming after ${(agentDone / 1000).toFixed(1)} s`);
  console.log(
    `messages posted: ${inTopic.filter((c) => c.method === "sendMessage").length} sendMessage, ${inTopic.filter((c) => c.method === "editMessageText").length} edits, ${inTopic.filter((c) => c.method === "sendDocument").length} document(s); 429s: ${api.tooManyRequests}`,
  );
  console.log(`last Bot API call ${(last / 1000).toFixed(1)} s after the POST`);
  console.log(
    `RSS of the bot and the mock Bot API: ${mib(before)} before, ${mib(peak)} peak (agent excluded)`,
  );
} finally {
  clearInterval(sampler);
  await bot.stop();
  await api.close();
  temp.cleanup();
}
