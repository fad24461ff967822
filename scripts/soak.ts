/**
 * Soak test (a script, not a timed test): drives N topics x M turns through the webhook with
 * random re-sent updates, random agent kills (SIGKILL mid-turn) and random 429 / 5xx answers from
 * the mock Bot API, then prints turns sent / answered exactly once / failed visibly / lost /
 * doubled, the journal's final states, and agent processes left. The bar: 0 lost, 0 doubled, 0 left.
 * Usage: npm run soak -- [topics=8] [turnsPerTopic=5] [seed=1]
 */
import path from "node:path";
import Database from "better-sqlite3";
import { startTestApp } from "../test/support/app-fixture.js";
import { INJECTED, startMockBotApi } from "../test/support/mock-bot-api.js";
import { makeTempDir } from "../test/support/temp-dir.js";
import { isAlive, readAgentEvents } from "../test/support/test-agent-command.js";
import { topicTextUpdate } from "../test/support/updates.js";

const [topics = 8, turnsPerTopic = 5, seed = 1] = process.argv.slice(2).map(Number);
let state = seed;
/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
const random = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const temp = makeTempDir("tg-acp-soak-");
const api = await startMockBotApi();
let injected429 = 0;
let injected5xx = 0;
api.inject((call) => {
  if (call.method !== "sendMessage" && call.method !== "editMessageText") return undefined;
  const roll = random();
  if (roll < 0.05) {
    injected429 += 1;
    return INJECTED.tooManyRequests(1);
  }
  if (roll < 0.1) {
    injected5xx += 1;
    return INJECTED.badGateway();
  }
  return undefined;
});
const bot = await startTestApp({
  apiRoot: api.url,
  dir: temp.dir,
  env: { LOG_LEVEL: "error", MAX_CONCURRENT_TURNS: "4" },
});
const agentDir = path.join(temp.dir, "agent");

// Random agent kills: SIGKILL some agents right after their prompt starts.
const killed = new Set<number>();
const seenPrompts = new Set<number>();
let running = true;
const killer = (async () => {
  while (running) {
    for (const event of readAgentEvents(agentDir)) {
      if (event.event !== "prompt-start" || seenPrompts.has(event.pid)) continue;
      seenPrompts.add(event.pid);
      if (random() < 0.15) {
        try {
          process.kill(event.pid, "SIGKILL");
          killed.add(event.pid);
        } catch {
          // already gone
        }
      }
    }
    await sleep(30);
  }
})();

const started = Date.now();
const tags: Array<{ tag: string; threadId: number }> = [];
let resent = 0;
const senders = Array.from({ length: topics }, async (_, t) => {
  const threadId = 100 + t;
  for (let n = 0; n < turnsPerTopic; n++) {
    const tag = `t${t}n${n}`;
    tags.push({ tag, threadId });
    const update = topicTextUpdate(`slow ${50 + Math.floor(random() * 250)} ${tag}`, { threadId });
    await bot.postUpdate(update);
    if (random() < 0.2) {
      resent += 1;
      await sleep(Math.floor(random() * 100));
      await bot.postUpdate(update); // Telegram re-sending the same update
    }
    await sleep(Math.floor(random() * 200));
  }
});
await Promise.all(senders);
await sleep(500);
await bot.app.idle();
running = false;
await killer;
await bot.stop();

const byTopic = new Map<number, string[]>();
for (const { threadId } of tags)
  byTopic.set(
    threadId,
    api.messagesIn(threadId).map((m) => m.text),
  );
let exactlyOnce = 0;
let failedVisibly = 0;
let doubled = 0;
for (const { tag, threadId } of tags) {
  const answers = (byTopic.get(threadId) ?? []).filter((text) => text === `done ${tag}`).length;
  if (answers === 1) exactlyOnce += 1;
  if (answers > 1) doubled += 1;
}
for (const texts of byTopic.values())
  failedVisibly += texts.filter((t) => t.startsWith("⚠️ The agent could not answer")).length;
const lost = Math.max(0, tags.length - exactlyOnce - failedVisibly);
const db = new Database(path.join(temp.dir, "tg-acp.db"), { readonly: true });
const states = db.prepare("select state, count(*) as n from turns group by state").all() as Array<{
  state: string;
  n: number;
}>;
db.close();
const pids = readAgentEvents(agentDir)
  .filter((e) => e.event === "start")
  .map((e) => e.pid);
const left = pids.filter((pid) => isAlive(pid)).length;
await api.close();
temp.cleanup();

console.log(
  `soak: ${topics} topics x ${turnsPerTopic} turns, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
console.log(
  `injected: ${resent} re-sent updates, ${killed.size} agent kills, ${injected429} 429s, ${injected5xx} 5xx`,
);
console.log(
  "| turns sent | answered exactly once | failed visibly (agent killed) | lost | doubled | agent processes left |",
);
console.log("|---|---|---|---|---|---|");
console.log(`| ${tags.length} | ${exactlyOnce} | ${failedVisibly} | ${lost} | ${doubled} | ${left} |`);
console.log(`journal: ${states.map((s) => `${s.state} ${s.n}`).join(", ")}`);
process.exit(lost === 0 && doubled === 0 && left === 0 ? 0 : 1);
