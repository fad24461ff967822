import { and, eq, inArray, isNotNull } from "drizzle-orm";
import type { TopicKey } from "../domain/topic-key.js";
import type {
  AgentRecord,
  Attachment,
  FinalTurnState,
  PendingFile,
  TurnEnd,
  TurnState,
} from "../domain/turn.js";
import { agentRecords } from "./agent-records.js";
import type { Db } from "./database.js";
import { type TurnRow, turns } from "./schema.js";

/**
 * The `turns` table: one row per prompt, whose state moves queued → running → completed | failed |
 * cancelled, or to interrupted when the bot stops or crashes under it. Every change is a
 * compare-and-set (UPDATE ... WHERE state = expected): a change
 * from a state the row is no longer in does nothing and says so.
 */
export type TurnJournal = ReturnType<typeof createTurnJournal>;

/** Creates the journal on the app's database; `now` gives timestamps (ISO 8601). */
export function createTurnJournal(db: Db, now: () => Date = () => new Date()) {
  const at = () => now().toISOString();

  /** Moves `id` from one of `from` to `to` (setting `set` too); true when the row was in `from`. */
  const transition = (id: number, from: TurnState[], to: TurnState, set: Partial<TurnRow> = {}): boolean =>
    db
      .update(turns)
      .set({ ...set, state: to })
      .where(and(eq(turns.id, id), inArray(turns.state, from)))
      .run().changes === 1;

  return {
    /** Records a new prompt as queued; returns its id. */
    create(
      key: TopicKey,
      prompt: string,
      options: {
        updateId?: number;
        attachments?: Attachment[];
        files?: PendingFile[];
        retryOf?: number;
      } = {},
    ): number {
      const row = db
        .insert(turns)
        .values({
          ...key,
          prompt,
          updateId: options.updateId ?? null,
          attachments: options.attachments ?? null,
          files: options.files ?? null,
          retryOf: options.retryOf ?? null,
          createdAt: at(),
        })
        .returning({ id: turns.id })
        .get();
      return row.id;
    },

    /** queued → running; false when the turn was cancelled or interrupted meanwhile. */
    start(id: number): boolean {
      return transition(id, ["queued"], "running", { startedAt: at() });
    },

    /** running → completed | failed | cancelled | interrupted, with what the turn produced. */
    finish(id: number, state: FinalTurnState, end: TurnEnd = {}): boolean {
      return transition(id, ["running"], state, {
        answer: end.answer ?? null,
        stopReason: end.stopReason ?? null,
        error: end.error ?? null,
        finishedAt: at(),
      });
    },

    /** queued → cancelled (dropped by /cancel) or interrupted (dropped by a shutdown). */
    drop(id: number, state: "cancelled" | "interrupted", error?: string): boolean {
      return transition(id, ["queued"], state, { error: error ?? null, finishedAt: at() });
    },

    /** queued or running → interrupted (a turn whose process died under it). */
    interrupt(id: number, error: string): boolean {
      return transition(id, ["queued", "running"], "interrupted", { error, finishedAt: at() });
    },

    /**
     * Start-up recovery: turns a crash left queued or running become interrupted. Returns every
     * interrupted turn whose topic has not been told yet (these and earlier shutdowns').
     */
    recoverInterrupted(): TurnRow[] {
      db.update(turns)
        .set({ state: "interrupted", error: "the bot stopped during this turn", finishedAt: at() })
        .where(inArray(turns.state, ["queued", "running"]))
        .run();
      return db
        .select()
        .from(turns)
        .where(and(eq(turns.state, "interrupted"), eq(turns.interruptNotified, false)))
        .orderBy(turns.id)
        .all();
    },

    /** Records the agent process a turn runs in. */
    recordAgent(id: number, agent: AgentRecord): void {
      db.update(turns)
        .set({ agentPid: agent.pid, agentStartTime: agent.startTime, agentMarker: agent.marker })
        .where(eq(turns.id, id))
        .run();
    },

    /** The agent processes recorded for turns still queued or running. */
    recordedAgents(): Array<AgentRecord & { turnId: number }> {
      return agentRecords(
        db
          .select({
            turnId: turns.id,
            pid: turns.agentPid,
            startTime: turns.agentStartTime,
            marker: turns.agentMarker,
          })
          .from(turns)
          .where(and(inArray(turns.state, ["queued", "running"]), isNotNull(turns.agentPid)))
          .all(),
      );
    },

    /** Marks a completed turn's answer as cut by a shutdown ("cut") or offered to its topic. */
    markDelivery(id: number, delivery: "cut" | "offered"): void {
      db.update(turns).set({ delivery }).where(eq(turns.id, id)).run();
    },

    /** Completed turns whose answer a shutdown cut and that were not offered yet, oldest first. */
    cutAnswers(): TurnRow[] {
      return db.select().from(turns).where(eq(turns.delivery, "cut")).orderBy(turns.id).all();
    },

    /** Records that the topic was told of an interrupted turn. */
    markInterruptNotified(id: number): void {
      db.update(turns).set({ interruptNotified: true }).where(eq(turns.id, id)).run();
    },

    /** One turn by id. */
    get(id: number): TurnRow | undefined {
      return db.select().from(turns).where(eq(turns.id, id)).get();
    },

    /** The turn that retried `id`, if any. */
    retryOf(id: number): TurnRow | undefined {
      return db.select().from(turns).where(eq(turns.retryOf, id)).get();
    },
  };
}
