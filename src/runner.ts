import type { ContentBlock } from "@agentclientprotocol/sdk";
import { type AcpClient, AgentTurnError, type TurnResult } from "./acp/acp-client.js";
import type { SessionStore, TopicKey } from "./db/session-store.js";
import type { Logger } from "./logger.js";
import { ensureWorkspace, workspacePathFor } from "./workspace.js";

/**
 * Where a turn's output goes: the topic the prompt came from. Implemented by the Telegram layer and
 * handed in with each job, so the runner never imports it. Calls are made one at a time, in order.
 */
export type TurnOutput = {
  /** Shows that the agent is working (Bot API sendChatAction "typing"; lasts ~5 s). */
  typing(): Promise<void>;
  /** A one-line notice (context not restored, tool refused, error). */
  notice(line: string): Promise<void>;
  /** The agent's final answer text (may be long; the output splits it). */
  answer(text: string): Promise<void>;
};

/** One prompt for the agent of a topic key. */
export type TurnJob = { key: TopicKey; prompt: ContentBlock[]; output: TurnOutput };

/** How often the typing action is renewed while a turn runs, ms (Telegram shows it for ~5 s). */
const TYPING_INTERVAL_MS = 4_000;

/**
 * The per-topic queue: one turn at a time per key (never two agent processes on one session),
 * different keys in parallel. Wires the session store, the workspace and the ACP client.
 */
export type Runner = ReturnType<typeof createRunner>;

/** Creates the runner; see {@link Runner}. */
export function createRunner(deps: {
  store: SessionStore;
  acpClient: AcpClient;
  workspaceBasePath: string;
  /** Copied into each new workspace before session/new (WORKSPACE_TEMPLATE_DIR), when set. */
  workspaceTemplateDir?: string;
  logger: Logger;
}) {
  const { store, acpClient, logger } = deps;
  /** Tail of each key's chain of turns; removed when the key goes idle. */
  const tails = new Map<string, Promise<void>>();

  async function runJob(job: TurnJob): Promise<void> {
    const log = logger.child({ topic: job.key });
    const startedAt = Date.now();
    let outputChain = Promise.resolve();
    const post = (call: () => Promise<void>) => {
      outputChain = outputChain
        .then(call)
        .catch((err: unknown) => log.error({ err }, "could not post to the topic"));
      return outputChain;
    };
    void post(() => job.output.typing());
    const typingTimer = setInterval(() => void post(() => job.output.typing()), TYPING_INTERVAL_MS);
    try {
      const row = store.get(job.key);
      // A stored workspace stays the session's cwd: agents scope sessions by directory.
      const cwd = await ensureWorkspace(
        row?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, job.key),
        deps.workspaceTemplateDir,
      );
      let delivered: Promise<void> | undefined;
      const result = await acpClient.runTurn(
        { cwd, sessionId: row?.sessionId ?? undefined, prompt: job.prompt },
        {
          onNotice: (line) => void post(() => job.output.notice(line)),
          onSessionId: (sessionId) => store.upsert(job.key, sessionId, cwd),
          onResult: (done) => {
            clearInterval(typingTimer);
            delivered = post(() => job.output.answer(answerText(done)));
          },
        },
      );
      store.upsert(job.key, result.sessionId, cwd);
      await delivered;
      log.info(
        {
          sessionId: result.sessionId,
          setup: result.setup,
          stopReason: result.stopReason,
          ms: Date.now() - startedAt,
        },
        "turn completed",
      );
    } catch (err) {
      const reason =
        err instanceof AgentTurnError ? err.message : "an internal error occurred (see the bot's log)";
      log.error({ err }, "turn failed");
      await post(() => job.output.notice(`⚠️ The agent could not answer: ${reason}.`));
    } finally {
      clearInterval(typingTimer);
      await outputChain;
    }
  }

  return {
    /**
     * Queues a turn behind the key's running and queued turns. Resolves when this turn is over
     * (answered or failed; failures are reported to the topic and logged, never thrown).
     */
    enqueue(job: TurnJob): Promise<void> {
      const id = keyId(job.key);
      const previous = tails.get(id) ?? Promise.resolve();
      const turn = previous.then(() => runJob(job));
      tails.set(id, turn);
      void turn.finally(() => {
        if (tails.get(id) === turn) tails.delete(id);
      });
      return turn;
    },

    /** Resolves once every queued and running turn is over. */
    async idle(): Promise<void> {
      while (tails.size > 0) await Promise.allSettled([...tails.values()]);
    },

    /** Number of keys with a running or queued turn. */
    get busyKeys(): number {
      return tails.size;
    },
  };
}

function keyId(key: TopicKey): string {
  return `${key.chatId}:${key.threadId}:${key.userId}`;
}

/** The text posted for a finished turn: the answer, and the stop reason when it is not end_turn. */
function answerText(result: TurnResult): string {
  const text = result.text.trim();
  if (result.stopReason === "end_turn")
    return text === "" ? "(The agent finished without a text answer.)" : text;
  const note = `(Stopped: ${result.stopReason.replaceAll("_", " ")}.)`;
  return text === "" ? note : `${text}\n\n${note}`;
}
