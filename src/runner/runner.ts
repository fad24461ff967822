import { type TopicKey, topicKeyId } from "../domain/topic-key.js";
import { AUTO_MODEL, type NewTurn } from "../domain/turn.js";
import type { QueuedTurn } from "../domain/turn-queue.js";
import { workspacePathFor } from "../workspace.js";
import { createAgentSessions } from "./agent-sessions.js";
import { audioRoute } from "./audio-input.js";
import { createPermissionPolicy } from "./permission-policy.js";
import { remoteModels, remoteStatus } from "./remote-turns.js";
import type { RunnerDeps, RunnerHandle } from "./runner-deps.js";
import { promptText, settlesWithin, withEarlierContext, workspaceLookup } from "./runner-helpers.js";
import { createSessionControls } from "./session-controls.js";
import { createTurnControls } from "./turn-controls.js";
import { createTurnExecution, type RunningTurn } from "./turn-execution.js";
import type { LastTurn, PromptJob, Runner, TurnView } from "./types.js";

export type { RunnerDeps, RunnerHandle };

type Pending = { view: TurnView; settle: () => void };

/**
 * The bot's core: journals prompts in the store, queues them per topic key in the turn queue (one
 * turn at a time per key, never two agent processes on one session), runs each through the ACP
 * client with the key's session, workspace and model, applies the permission policy, and keeps what
 * /status and /cancel need. Telegram talks only to the {@link Runner} interface it returns.
 */
export function createRunner(deps: RunnerDeps): RunnerHandle {
  const { store, queue, logger } = deps;
  const pending = new Map<number, Pending>();
  const running = new Map<string, RunningTurn>();
  /** Turns whose agent is done while their answer is still being posted, by key. */
  const delivering = new Map<string, { turnId: number; view: TurnView }>();
  const last = new Map<string, LastTurn>();
  let draining = false;
  /** Notices said once per topic (`<key>|<kind>`), for this run of the bot. */
  const saidOnce = new Set<string>();
  /** Prompts between submit() and the queue (journalling): idle() waits for them too. */
  let submitting = 0;
  const local = deps.acpClient && deps.models && { acpClient: deps.acpClient, models: deps.models };
  const control = deps.control;
  if (!local && !control) throw new Error("the runner needs an ACP client and models, or a turn control");
  const release = (key: TopicKey) =>
    void (local?.acpClient.release(topicKeyId(key)) ?? control?.release(key));
  const controls = createSessionControls({ store, models: local?.models, release });
  const execute =
    local &&
    createTurnExecution({
      store,
      controls,
      acpClient: local.acpClient,
      models: local.models,
      policy: createPermissionPolicy({ mode: deps.permissionMode, store, logger }),
      workspaceBasePath: deps.workspaceBasePath,
      workspaceTemplateDir: deps.workspaceTemplateDir,
      turnTimeoutMs: deps.turnTimeoutMs,
      ...(deps.fetchFile ? { fetchFile: deps.fetchFile } : {}),
      transcribe: deps.transcribe,
      ...(deps.mcp ? { mcp: deps.mcp } : {}),
      firstNotice: (key, kind) => {
        const id = `${topicKeyId(key)}|${kind}`;
        if (saidOnce.has(id)) return false;
        saidOnce.add(id);
        return true;
      },
      logger,
    });
  const viewOf = (turn: QueuedTurn): Pending =>
    pending.get(turn.turnId) ?? { view: deps.views(turn.key), settle: () => {} };
  const finishPending = (turnId: number) => {
    const entry = pending.get(turnId);
    pending.delete(turnId);
    entry?.settle();
  };

  // The store cannot write: the topics of running turns hear it once, as it happens.
  store.onHealthChange((health) => {
    if (health.ok) return;
    for (const turn of running.values()) {
      void viewOf({ turnId: turn.turnId, key: turn.key }).view.notice(
        `⚠️ The bot cannot write its database (${health.reason}): this turn's answer may not be kept, and new messages are refused until it can.`,
      );
    }
  });

  queue.start(
    async (turn) => {
      const id = topicKeyId(turn.key);
      if (!execute) throw new Error("this process runs no turns (ROLE=web)");
      try {
        const { last: summary, delivered } = await execute(turn, viewOf(turn).view, (now) => {
          if (now) running.set(id, now);
          else running.delete(id);
        });
        if (summary) last.set(id, withEarlierContext(summary, last.get(id)));
        if (summary?.stopReason === "interrupted") tell(turn.turnId);
        // The agent is done: its slot goes to the next turn while the answer is still delivered.
        const posting = { turnId: turn.turnId, view: viewOf(turn).view };
        delivering.set(id, posting);
        return {
          after: delivered.finally(() => {
            if (delivering.get(id) === posting) delivering.delete(id);
            finishPending(turn.turnId);
          }),
        };
      } catch (err) {
        finishPending(turn.turnId);
        throw err;
      }
    },
    {
      onWait: (turn, { running: busy, ahead }) =>
        void viewOf(turn).view.notice(`⏳ ${busy} turns are running; yours is queued with ${ahead} ahead.`),
      onOrphan: async (turn) => {
        if (await store.interruptTurn(turn.turnId, "its worker stopped during this turn", turn.fence))
          tell(turn.turnId);
      },
    },
  );

  /** Tells an interrupted turn's topic (distributed queues only); failures are logged. */
  function tell(turnId: number): void {
    deps
      .tellInterrupted?.(turnId)
      .catch((err: unknown) =>
        logger.error({ err, turnId }, "could not tell the topic of an interrupted turn"),
      );
  }

  /** Drops turns taken out of the queue, journalling them as `as`; interrupted ones are told. */
  async function drop(turns: QueuedTurn[], as: "cancelled" | "interrupted"): Promise<void> {
    for (const turn of turns) {
      await store.dropTurn(turn.turnId, as);
      if (as === "interrupted") await viewOf(turn).view.finish({ kind: "interrupted" });
      finishPending(turn.turnId);
    }
  }

  async function accept(job: PromptJob & { retryOf?: number }): Promise<{ done: Promise<void> }> {
    const turn: NewTurn = {
      key: job.key,
      prompt: promptText(job),
      ...(job.updateId !== undefined ? { updateId: job.updateId } : {}),
      ...(job.attachments ? { attachments: job.attachments } : {}),
      ...(job.files ? { files: job.files } : {}),
      ...(job.retryOf !== undefined ? { retryOf: job.retryOf } : {}),
    };
    submitting += 1;
    let turnId: number | undefined;
    try {
      turnId = await store.enqueueTurn(turn);
    } finally {
      submitting -= 1;
    }
    if (turnId === undefined) {
      logger.info({ update_id: job.updateId }, "prompt of an Update already journalled; not queued again");
      return { done: Promise.resolve() };
    }
    const view = deps.views(job.key);
    // ROLE=web: the queue carries it to a worker, which tells the topic.
    if (control) {
      await queue.enqueue({ turnId, key: job.key });
      return { done: Promise.resolve() };
    }
    if (draining) {
      await store.dropTurn(turnId, "interrupted");
      return { done: view.finish({ kind: "interrupted" }) };
    }
    const queued = { turnId, key: job.key };
    const done = new Promise<void>((settle) => pending.set(queued.turnId, { view, settle }));
    await queue.enqueue(queued);
    const busy = running.get(topicKeyId(job.key)); // the queue may have started this one at once
    if (busy && busy.turnId !== turnId) view.queued?.(turnId);
    return { done };
  }

  /** Answers still being posted are cut (shutdown) and offered after the restart. */
  async function abandonDeliveries(): Promise<void> {
    for (const { turnId, view } of delivering.values()) {
      if (view.abandon()) {
        await store
          .markDelivery(turnId, "cut")
          .catch((err: unknown) => logger.error({ err, turnId }, "could not record a cut answer"));
      }
    }
  }

  const workspaceFor = workspaceLookup(store, deps.workspaceBasePath, deps.workspaceTemplateDir);

  const runner: RunnerHandle = {
    accept: (job) => accept(job),
    submit: async (job) => (await accept(job)).done,

    async cancel(key) {
      const remote = await control?.cancel(key);
      if (remote) return remote;
      const dropped = await queue.removeQueued(key);
      await drop(dropped, "cancelled");
      const current = running.get(topicKeyId(key));
      current?.abort("user");
      // An answer still being posted: the rest goes as one document.
      const posting = delivering.get(topicKeyId(key));
      posting?.view.stopDelivery();
      return {
        cancelledRunning: current !== undefined,
        stoppedDelivery: posting !== undefined,
        dropped: dropped.length,
      };
    },

    async retry(turnId, userId) {
      const turn = await store.turn(turnId);
      if (turn?.state !== "interrupted") return "This turn cannot be retried.";
      if (turn.userId !== userId) return "Only the user whose prompt this was can retry it.";
      if (await store.retryOf(turnId)) return "This turn was already retried.";
      const key = { chatId: turn.chatId, threadId: turn.threadId, userId: turn.userId };
      void accept({
        key,
        prompt: [{ type: "text", text: turn.prompt }],
        ...(turn.attachments ? { attachments: turn.attachments } : {}),
        ...(turn.files ? { files: turn.files } : {}),
        retryOf: turnId,
      }).catch((err: unknown) => logger.error({ err, turnId }, "could not queue the retry"));
      return undefined;
    },

    async answerOf(turnId, userId) {
      const turn = await store.turn(turnId);
      if (!turn?.answer) return { refusal: "This answer is no longer kept." };
      if (turn.userId !== userId)
        return { refusal: "Only the user whose prompt this was can get its answer." };
      return { text: turn.answer };
    },

    async resetSession(key) {
      await store.clearSession(key);
      if (local) local.acpClient.release(topicKeyId(key));
      else await control?.release(key);
      await deps.mcp?.access.revoke(key);
    },
    model: (key) => store.model(key),
    setModel: (key, model) => store.setModel(key, model),
    availableModels: () => (local ? local.models.get() : remoteModels(control)),
    settings: (key) => controls.settings(key),
    chooseSetting: (key, settingId, value) => controls.choose(key, settingId, value),
    agentCommands: (key) => controls.agentCommands(key),
    listSessions: (chatId, userId) => store.listSessions(chatId, userId),
    workspaceFor,
    audioRoute: () => audioRoute(local?.acpClient.capabilities(), deps.transcribe),

    async status(key) {
      const row = await store.session(key);
      const current = running.get(topicKeyId(key));
      const here = {
        runningForMs: current ? Date.now() - current.startedAt : undefined,
        last: last.get(topicKeyId(key)),
      };
      return {
        sessionId: row?.sessionId ?? null,
        model: row?.model ?? AUTO_MODEL,
        workspacePath: row?.workspacePath ?? workspacePathFor(deps.workspaceBasePath, key),
        ...(control ? await remoteStatus(control, key) : here),
        queued: await queue.queued(key),
      };
    },

    async shutdown(graceMs) {
      draining = true;
      // ROLE=web runs no turn: the queued ones stay in the queue for the workers.
      if (control) return;
      if (deps.stopQueue) {
        const stopped = deps.stopQueue(graceMs);
        if (!(await settlesWithin(stopped, graceMs))) await abandonDeliveries();
        return stopped;
      }
      if (await settlesWithin(queue.idle(), graceMs)) return;
      logger.warn({ graceMs }, "turns still running after the shutdown grace period; interrupting them");
      await drop(await queue.removeQueued(), "interrupted");
      for (const turn of running.values()) turn.abort("shutdown");
      await abandonDeliveries();
      // Agents get their stop grace to end after session/cancel; past it the shutdown goes on anyway.
      if (!(await settlesWithin(queue.idle(), deps.stopTailMs ?? 10_000))) {
        logger.warn("agents still ending after the shutdown's grace; not waiting for them");
      }
    },

    async idle() {
      while (submitting > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await queue.idle();
    },
    ...createAgentSessions({
      ...deps,
      acpClient: local?.acpClient,
      release,
      adoptRoots: deps.adoptRoots ?? [],
    }),
    ...createTurnControls({ store, running, delivering, cancel: (key) => runner.cancel(key) }),
  };
  return runner;
}
