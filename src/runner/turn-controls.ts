import type { Store } from "../domain/store.js";
import { type TopicKey, topicKeyId } from "../domain/topic-key.js";
import type { RunningTurn } from "./turn-execution.js";
import type { CancelResult, TurnView } from "./types.js";

/**
 * The buttons that act on a topic's turns by turn id: ⏹ Stop under a running turn's message (the
 * same as /cancel for its topic) and ⏩ Send now under a "queued" note (cancels the topic's running
 * turn, so the queued prompts go next, in order). Each refuses in one line when the tap is not the
 * turn's user's, or the turn is no longer running / waiting; nothing changes then.
 */
export function createTurnControls(deps: {
  store: Store;
  running: ReadonlyMap<string, RunningTurn>;
  delivering: ReadonlyMap<string, { turnId: number; view: TurnView }>;
  cancel: (key: TopicKey) => Promise<CancelResult>;
}) {
  const { running, delivering } = deps;
  return {
    /** Stop: returns the callback answer (one line). */
    async stopTurn(turnId: number, userId: number): Promise<string> {
      const turn = [...running.values()].find((t) => t.turnId === turnId);
      const posting = [...delivering.values()].find((d) => d.turnId === turnId);
      const owner = turn?.key.userId ?? (posting ? (await deps.store.turn(turnId))?.userId : undefined);
      if (owner === undefined) return "This turn is over.";
      if (owner !== userId) return "Only the user whose prompt this is can stop it.";
      if (turn) {
        await deps.cancel(turn.key);
        return "⏹ Cancelling the running turn.";
      }
      posting?.view.stopDelivery();
      return "⏹ Stopped posting the answer; the whole of it follows as answer.md.";
    },

    /** Send now: returns the callback answer (one line). */
    async sendNow(turnId: number, userId: number): Promise<string> {
      const queued = await deps.store.turn(turnId);
      if (queued?.state !== "queued") return "This message is no longer waiting.";
      if (queued.userId !== userId) return "Only the user who sent this message can send it now.";
      const key = { chatId: queued.chatId, threadId: queued.threadId, userId: queued.userId };
      const current = running.get(topicKeyId(key));
      if (!current) return "It goes next already.";
      current.abort("user");
      return "⏩ Cancelling the running turn; your message goes next.";
    },
  };
}
