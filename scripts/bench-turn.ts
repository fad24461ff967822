/**
 * Benchmark: how long one turn takes through the bot (webhook POST -> answer sendMessage at the mock
 * Bot API) against the bare test agent driven directly over ACP (spawn -> initialize -> session/new
 * -> session/prompt -> exit). Prints medians and p90 in ms. Usage: npm run bench:turn [-- turns]
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import * as acp from "@agentclientprotocol/sdk";
import { startTestApp } from "../test/support/app-fixture.js";
import { startMockBotApi } from "../test/support/mock-bot-api.js";
import { makeTempDir } from "../test/support/temp-dir.js";
import { testAgentArgv } from "../test/support/test-agent-command.js";
import { topicTextUpdate } from "../test/support/updates.js";

const turns = Number(process.argv[2] ?? 15);

async function bareTurn(stateDir: string, cwd: string): Promise<number> {
  const started = performance.now();
  // The bare SDK client rejects the test agent's deliberate unknown update kind noisily: skip the noise.
  const [command, ...args] = testAgentArgv(stateDir, ["--no-noise"]);
  const child = spawn(command, args, { cwd, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const connection = acp
    .client({ name: "bench" })
    .onNotification(acp.methods.client.session.update, () => {})
    .connect(
      acp.ndJsonStream(
        Writable.toWeb(child.stdin) as WritableStream<Uint8Array>,
        Readable.toWeb(child.stdout) as ReadableStream<Uint8Array>,
      ),
    );
  await connection.agent.request(acp.methods.agent.initialize, { protocolVersion: acp.PROTOCOL_VERSION });
  const { sessionId } = await connection.agent.request(acp.methods.agent.session.new, {
    cwd,
    mcpServers: [],
  });
  await connection.agent.request(acp.methods.agent.session.prompt, {
    sessionId,
    prompt: [{ type: "text", text: "hello" }],
  });
  const answeredAt = performance.now();
  child.stdin.end();
  await exited;
  return answeredAt - started;
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return `median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms (n=${samples.length})`;
}

const temp = makeTempDir("tg-acp-bench-");
try {
  const bare: number[] = [];
  for (let i = 0; i < turns; i++) bare.push(await bareTurn(path.join(temp.dir, "bare-agent"), temp.dir));

  const api = await startMockBotApi();
  const bot = await startTestApp({ apiRoot: api.url, dir: temp.dir, env: { LOG_LEVEL: "warn" } });
  const timeTurn = async (threadId: number, text: string) => {
    const before = api.callsOf("sendMessage").length;
    const started = performance.now();
    await bot.postUpdate(topicTextUpdate(text, { threadId }));
    await api.waitFor(() => api.callsOf("sendMessage").length > before, 30_000);
    return performance.now() - started;
  };
  const fresh: number[] = [];
  for (let i = 0; i < turns; i++) fresh.push(await timeTurn(1000 + i, "hello"));
  const loaded: number[] = [];
  for (let i = 0; i < turns; i++) loaded.push(await timeTurn(1000, `hello again ${i}`));
  await bot.stop();
  await api.close();

  console.log(`bare test agent turn (spawn..answer):         ${stats(bare)}`);
  console.log(`bot turn, new topic (POST..sendMessage):      ${stats(fresh)}`);
  console.log(`bot turn, same topic (session/load + replay): ${stats(loaded)}`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  console.log(
    `bot overhead over the bare agent, new topic:  ${(median(fresh) - median(bare)).toFixed(1)} ms (median)`,
  );
} finally {
  temp.cleanup();
}
