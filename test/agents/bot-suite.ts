import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROGRESS_HEADER } from "../../src/telegram/progress-message.js";
import { TEST_WEBHOOK_SECRET, testAppEnv } from "../support/app-fixture.js";
import { spawnBotProcess } from "../support/bot-process.js";
import { type FakeModel, type FakeModelCall, startFakeModel } from "../support/fake-model.js";
import { type BotApiCall, type MockBotApi, startMockBotApi } from "../support/mock-bot-api.js";
import { makeTempDir } from "../support/temp-dir.js";
import {
  asCommand,
  callbackUpdate,
  FIXTURE_CHAT_ID,
  FIXTURE_USER_ID,
  topicTextUpdate,
} from "../support/updates.js";
import { commandLine, prepareAgentHome } from "./agents.js";
import { AGENT_PACKAGES, type AgentId, installAgent } from "./install.js";
import { isSameAlive, label, type ProcInfo, processTree } from "./proc.js";

type BotProcess = Awaited<ReturnType<typeof spawnBotProcess>>;
type Keyboard = { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> };
type TurnRow = {
  id: number;
  state: string;
  stop_reason: string | null;
  created_at: string;
  finished_at: string | null;
};

/** A turn of a real agent through the bot may take this long on a loaded 2-core machine. */
const TURN_MS = 120_000;

/** The permission option a user taps to allow one tool call, by the agents' own names. */
const ALLOW_ONCE = /^(allow|yes|proceed|approve)/i;
const ALWAYS = /always|don't ask|session/i;

/**
 * The bot-level checks of one real agent: the real bot process (src/main.ts) behind its webhook, the
 * mock Bot API and the fake model, with the agent as ACP_AGENT_COMMAND (its config and HOME from
 * agents.ts). A turn in a topic (prints its first-text and turn times), a restart and recall in a new
 * process, /model by a button tap, /cancel of a slow turn, a permission prompt answered with a button
 * whose file lands in the topic's workspace, and a SIGKILL of the bot mid-turn after which no
 * process of that turn's agent is alive 10 s after the restart. An agent that cannot be installed
 * fails every test with npm's one line naming the package. Skipped unless TG_ACP_REAL_AGENTS=1.
 */
export function describeAgentThroughBot(id: AgentId): void {
  const pkg = AGENT_PACKAGES[id];
  describe.skipIf(process.env.TG_ACP_REAL_AGENTS !== "1")(
    `${id} through the bot (${pkg.name}@${pkg.version})`,
    () => {
      let temp: ReturnType<typeof makeTempDir>;
      let model: FakeModel;
      let api: MockBotApi;
      let env: Record<string, string>;
      let bot: BotProcess | undefined;

      const dbPath = () => path.join(temp.dir, "tg-acp.db");
      const workspaceOf = (threadId: number) =>
        path.join(temp.dir, "workspaces", String(FIXTURE_CHAT_ID), String(threadId), String(FIXTURE_USER_ID));

      async function startBot(): Promise<BotProcess> {
        bot = await spawnBotProcess(env);
        return bot;
      }
      /** SIGTERM (graceful stop) and wait for the exit. */
      async function stopBot(): Promise<void> {
        const running = bot;
        bot = undefined;
        if (!running || running.child.exitCode !== null) return;
        const exited = new Promise((resolve) => running.child.once("exit", resolve));
        running.child.kill("SIGTERM");
        await exited;
      }
      async function post(update: unknown): Promise<void> {
        const res = await fetch(`http://127.0.0.1:${bot?.port}/telegram/webhook`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": TEST_WEBHOOK_SECRET,
          },
          body: JSON.stringify(update),
        });
        await res.arrayBuffer();
        expect(res.status).toBe(200);
      }
      const say = (threadId: number, text: string) => post(topicTextUpdate(text, { threadId }));
      const command = (threadId: number, text: string) =>
        post(asCommand(topicTextUpdate(text, { threadId })));
      /** What the user sees in a topic: the latest text of each message, without the progress message. */
      const textsIn = (threadId: number) =>
        api
          .messagesIn(threadId)
          .map((m) => m.text)
          .filter((text) => !text.startsWith(PROGRESS_HEADER));
      async function waitForText(threadId: number, pattern: RegExp, timeoutMs = TURN_MS): Promise<string> {
        let found: string | undefined;
        try {
          await api.until(() => {
            found = textsIn(threadId).find((text) => pattern.test(text));
            return found !== undefined;
          }, timeoutMs);
        } catch {
          throw new Error(
            `no ${pattern} in topic ${threadId} within ${timeoutMs} ms; it shows ${JSON.stringify(textsIn(threadId))}; bot log tail: ${bot?.output().slice(-3000)}`,
          );
        }
        return found as string;
      }
      /** The sendMessage with buttons in `threadId` whose text matches `pattern`. */
      async function waitForButtons(threadId: number, pattern: RegExp): Promise<BotApiCall> {
        const find = () =>
          api
            .callsOf("sendMessage")
            .find(
              (c) =>
                c.payload.message_thread_id === threadId &&
                pattern.test(String(c.payload.text)) &&
                c.payload.reply_markup !== undefined,
            );
        await waitForText(threadId, pattern);
        await api.until(() => find() !== undefined);
        return find() as BotApiCall;
      }
      const buttonsOf = (call: BotApiCall) => (call.payload.reply_markup as Keyboard).inline_keyboard.flat();
      const tap = (call: BotApiCall, data: string, threadId: number) =>
        post(callbackUpdate(data, { threadId, messageId: call.messageId as number }));
      /** The topic's newest journalled turn (the bot's database, read-only beside the running bot). */
      function lastTurn(threadId: number): TurnRow | undefined {
        const sqlite = new Database(dbPath(), { readonly: true });
        try {
          return sqlite
            .prepare(
              "select id, state, stop_reason, created_at, finished_at from turns where thread_id = ? order by id desc limit 1",
            )
            .get(threadId) as TurnRow | undefined;
        } finally {
          sqlite.close();
        }
      }
      async function waitForTurnEnd(threadId: number): Promise<TurnRow> {
        await api.until(() => {
          const state = lastTurn(threadId)?.state;
          return state !== undefined && state !== "queued" && state !== "running";
        }, TURN_MS);
        return lastTurn(threadId) as TurnRow;
      }
      /** The fake model's main request (one offering tools) whose last user turn contains `text`. */
      const mainCall = (text: string) => (call: FakeModelCall) =>
        call.tools.length > 0 && (call.userTurns.at(-1) ?? "").includes(text);
      /** The agent processes the bot runs now: its process tree without the bot itself. */
      const agentProcesses = (): ProcInfo[] =>
        processTree(bot?.child.pid as number).filter((p) => p.pid !== bot?.child.pid);

      beforeAll(async () => {
        await installAgent(pkg);
        temp = makeTempDir(`tg-acp-bot-${id}-`);
        model = await startFakeModel();
        api = await startMockBotApi();
        const launch = prepareAgentHome(id, {
          home: path.join(temp.dir, "home"),
          modelUrl: model.url,
          cwd: temp.dir,
        });
        env = {
          ...testAppEnv({ apiRoot: api.url, dir: temp.dir }),
          // The agent inherits the bot's environment: its HOME, config dir, model URL and key.
          ...launch.env,
          ACP_AGENT_COMMAND: commandLine(launch),
          LOG_LEVEL: "info",
          // Real agents take seconds to start; the grace is what a user's default would give.
          AGENT_STOP_GRACE_MS: "5000",
          SHUTDOWN_GRACE_MS: "5000",
        };
        await startBot();
      });
      afterAll(async () => {
        await stopBot().catch(() => {});
        await model?.close();
        await api?.close();
        temp?.cleanup();
      });

      /**
       * Sends `text` to topic `T` and waits for the answer `echo: <text>` and the journal's end of
       * the turn; prints the time to the first answer message and to the turn's end (ms).
       */
      async function timedTurn(T: number, text: string, what: string) {
        const sent = Date.now();
        await say(T, text);
        const answer = await waitForText(T, new RegExp(`echo: ${text.replace(/[.?]/g, "\\$&")}`));
        const first = api
          .callsOf("sendMessage")
          .find(
            (c) => c.payload.message_thread_id === T && !String(c.payload.text).startsWith(PROGRESS_HEADER),
          );
        const turn = await waitForTurnEnd(T);
        const firstTextMs = (first?.at as number) - sent;
        const turnMs = Date.parse(turn.finished_at as string) - sent;
        console.log(`[${id}] through the bot, ${what}: first text ${firstTextMs} ms, turn ${turnMs} ms`);
        return { answer, turn, firstTextMs };
      }

      it("answers a turn in a topic (prints the first-text and turn times)", async () => {
        const { answer, turn, firstTextMs } = await timedTurn(
          11,
          "Say hello to the bot suite.",
          "cold (spawn, initialize, session/new, prompt; no warm spare)",
        );
        expect(turn.state).toBe("completed");
        // The answer is the model's text alone: no start-up warning or notice line inside it.
        expect(answer.trim()).toBe("echo: Say hello to the bot suite.");
        expect(firstTextMs).toBeGreaterThan(0);
      });

      it("answers a fresh topic from a warm spare (prints its first-text time)", async () => {
        await stopBot();
        bot = await spawnBotProcess({ ...env, AGENT_WARM_SPARES: "1", LOG_LEVEL: "debug" });
        const running = bot;
        await api.until(() => running.output().includes("spare agent process ready"), TURN_MS);
        const { answer, turn } = await timedTurn(
          17,
          "Say hello from a spare.",
          "from a warm spare (session/new, prompt)",
        );
        expect(turn.state).toBe("completed");
        expect(answer.trim()).toBe("echo: Say hello from a spare.");
        await stopBot();
        await startBot();
      });

      it(
        "recalls the conversation in a new bot process after a restart",
        async () => {
          const T = 12;
          await say(T, "Remember this number: 4321");
          await waitForText(T, /Got it, I memorized 4321\./);
          await waitForTurnEnd(T);
          await stopBot();
          await startBot();
          await say(T, "What number did I ask you to remember?");
          await waitForText(T, /You asked me to remember 4321\./, 2 * TURN_MS);
          // The model answered from the conversation the restored session sent it.
          const recall = await model.waitForCall(mainCall("What number did I ask you to remember?"));
          expect(recall.userTurns.some((turn) => turn.includes("Remember this number: 4321"))).toBe(true);
          // Nothing a load replays is posted again, and no Claude Code command transcript shows.
          const texts = textsIn(T);
          expect(texts.filter((text) => text.includes("Got it, I memorized 4321."))).toHaveLength(1);
          expect(texts.join("\n")).not.toMatch(/<command-name>|<local-command-stdout>/);
        },
        3 * TURN_MS,
      );

      it("switches the topic's model with a tap on a /model button", async () => {
        const T = 13;
        await say(T, "First words in this topic.");
        await waitForText(T, /echo: First words in this topic\./);
        const before = (await model.waitForCall(mainCall("First words in this topic."))).model;
        await waitForTurnEnd(T);
        await command(T, "/model");
        const list = await waitForButtons(T, /^Models \(tap one/);
        const choices = buttonsOf(list).filter(
          (b) => b.callback_data !== "m:auto" && !b.text.startsWith("✅"),
        );
        // Claude lists aliases (default, opus, ...) and the request carries the id it maps one to.
        const choice =
          choices.find((b) => b.callback_data !== "m:default" && !before?.includes(b.text)) ?? choices[0];
        expect(choice, `no other model offered: ${JSON.stringify(buttonsOf(list))}`).toBeDefined();
        const chosen = (choice as { callback_data: string }).callback_data.slice(2);
        await tap(list, (choice as { callback_data: string }).callback_data, T);
        await waitForText(
          T,
          new RegExp(`Model for this topic: ${chosen.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
        );
        await say(T, "Which model answers now?");
        await waitForText(T, /echo: Which model answers now\?/);
        const after = (await model.waitForCall(mainCall("Which model answers now?"))).model;
        console.log(`[${id}] /model: ${before} -> tapped ${chosen}, the model was asked as ${after}`);
        expect(after).toBeDefined();
        expect(after).not.toBe(before);
        await waitForTurnEnd(T);
      });

      it("cancels a slow turn with /cancel", async () => {
        const T = 14;
        await say(T, "slow 60000 until cancelled");
        await model.waitForCall(mainCall("slow 60000 until cancelled"), TURN_MS);
        await command(T, "/cancel");
        const turn = await waitForTurnEnd(T);
        // A user's /cancel: the agent's stopReason cancelled, journalled as a completed turn.
        expect([turn.state, turn.stop_reason]).toEqual(["completed", "cancelled"]);
        await waitForText(T, /Cancelling the running turn/);
        await waitForText(T, /Stopped: cancelled/);
      });

      it("asks permission for a file write with buttons; allowed once, the file lands in the topic's workspace", async () => {
        const T = 15;
        const file = path.join(workspaceOf(T), "bot-suite.txt");
        await say(T, "write file bot-suite.txt with written through the bot");
        const prompt = await waitForButtons(T, /^🔐 The agent asks to use/);
        const allow = buttonsOf(prompt).find((b) => ALLOW_ONCE.test(b.text) && !ALWAYS.test(b.text));
        expect(allow, `no allow-once button in ${JSON.stringify(buttonsOf(prompt))}`).toBeDefined();
        expect(fs.existsSync(file)).toBe(false);
        await tap(prompt, (allow as { callback_data: string }).callback_data, T);
        const turn = await waitForTurnEnd(T);
        expect(turn.state).toBe("completed");
        expect(fs.readFileSync(file, "utf8")).toContain("written through the bot");
      });

      it("leaves no process of a turn's agent alive 10 s after a restart that follows a SIGKILL of the bot mid-turn", async () => {
        const T = 16;
        await say(T, "slow 60000 until the bot is killed");
        await model.waitForCall(mainCall("slow 60000 until the bot is killed"), TURN_MS);
        const agents = agentProcesses();
        expect(agents.length).toBeGreaterThan(0);
        const crashed = bot as BotProcess;
        const exited = new Promise((resolve) => crashed.child.once("exit", resolve));
        crashed.child.kill("SIGKILL");
        await exited;
        bot = undefined;
        await startBot();
        const restartedAt = Date.now();
        await api.until(() => agents.every((p) => !isSameAlive(p)), 10_000).catch(() => {});
        const survivors = agents.filter(isSameAlive).map(label);
        console.log(
          `[${id}] SIGKILL mid-turn: ${agents.length} agent process(es) (${agents.map(label).join(", ")}), ` +
            `alive ${Date.now() - restartedAt} ms after the restart: ${survivors.length}`,
        );
        expect(survivors).toEqual([]);
        // The topic is told its turn was interrupted, with a Retry button.
        await waitForText(T, /The bot stopped before it finished this prompt/);
      });
    },
  );
}
