/**
 * Turn timing: one turn through the bot (webhook POST -> first sendMessage at the mock Bot API) next to
 * the bare test agent driven directly over ACP (spawn -> initialize -> session/new -> session/prompt,
 * timed to its first agent_message_chunk and to the prompt's answer). Both run the test agent with
 * --no-noise, so they do the same work.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import * as acp from "@agentclientprotocol/sdk";
import { startTestApp } from "../../test/support/app-fixture.js";
import { startMockBotApi } from "../../test/support/mock-bot-api.js";
import { makeTempDir } from "../../test/support/temp-dir.js";
import { testAgentArgv } from "../../test/support/test-agent-command.js";
import { topicTextUpdate } from "../../test/support/updates.js";

/** Samples in ms, one per turn. */
export type TurnTimings = {
  /** Bare agent: spawn -> first agent_message_chunk. */
  bareFirstChunk: number[];
  /** Bare agent: spawn -> session/prompt response. */
  bareAnswer: number[];
  /** Bot, a new topic each time: webhook POST -> first sendMessage. */
  botNewTopic: number[];
  /** Bot, the same topic again and again (session/load and its history replay): POST -> sendMessage. */
  botSameTopic: number[];
};

const AGENT_FLAGS = ["--no-noise"];

async function bareTurn(stateDir: string, cwd: string): Promise<{ firstChunk: number; answer: number }> {
  const started = performance.now();
  let firstChunk = Number.NaN;
  const [command, ...args] = testAgentArgv(stateDir, AGENT_FLAGS);
  const child = spawn(command, args, { cwd, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const connection = acp
    .client({ name: "bench" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      if (params.update.sessionUpdate === "agent_message_chunk" && Number.isNaN(firstChunk)) {
        firstChunk = performance.now() - started;
      }
    })
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
  const answer = performance.now() - started;
  child.stdin.end();
  await exited;
  return { firstChunk, answer };
}

/**
 * Runs `turns` bare and new-topic bot turns, alternating (so drift in the machine's speed hits both
 * alike: the agent's start-up, ~0.3 s of a tsx-loaded Node process, is most of a turn and varies by
 * tens of ms), then `sameTopicTurns` bot turns in one topic; one unmeasured warm-up of each kind first.
 * See {@link TurnTimings}.
 */
export async function measureTurns(turns: number, sameTopicTurns = turns): Promise<TurnTimings> {
  const temp = makeTempDir("tg-acp-bench-");
  const api = await startMockBotApi();
  try {
    const bot = await startTestApp({
      apiRoot: api.url,
      dir: temp.dir,
      agentFlags: AGENT_FLAGS,
      agent: "subprocess",
      env: { LOG_LEVEL: "warn" },
    });
    const bare = () => bareTurn(path.join(temp.dir, "bare-agent"), temp.dir);
    // Timed to when the mock received the sendMessage (its `at`), not to when waitFor's polling saw it.
    const timeTurn = async (threadId: number, text: string) => {
      const before = api.callsOf("sendMessage").length;
      const started = Date.now();
      await bot.postUpdate(topicTextUpdate(text, { threadId }));
      // The first send of this turn's answer (the test agent echoes the prompt).
      const sent = await api.waitFor(
        (c) =>
          c.method === "sendMessage" &&
          api.callsOf("sendMessage").indexOf(c) >= before &&
          String(c.payload.text).includes(text),
        30_000,
      );
      return sent.at - started;
    };
    await bare();
    await timeTurn(999, "warm-up");

    const timings: TurnTimings = { bareFirstChunk: [], bareAnswer: [], botNewTopic: [], botSameTopic: [] };
    for (let i = 0; i < turns; i++) {
      const { firstChunk, answer } = await bare();
      timings.bareFirstChunk.push(firstChunk);
      timings.bareAnswer.push(answer);
      timings.botNewTopic.push(await timeTurn(1000 + i, "hello"));
    }
    for (let i = 0; i < sameTopicTurns; i++) {
      timings.botSameTopic.push(await timeTurn(1000, `hello again ${i}`));
    }
    await bot.stop();
    return timings;
  } finally {
    await api.close();
    temp.cleanup();
  }
}
