import { and, eq, inArray, isNotNull, type SQL, sql } from "drizzle-orm";
import type {
  AgentRecord,
  FinalTurnState,
  NewTurn,
  TurnEnd,
  TurnFence,
  TurnRecord,
  TurnState,
} from "../../domain/turn.js";
import { agentRecords } from "../agent-records.js";
import type { PgDb } from "./database.js";
import type { PgExecutor } from "./pg-sessions.js";
import { type PgTurnRow, shardLease, turns } from "./schema.js";

function turnRecord(row: PgTurnRow): TurnRecord {
  return {
    id: row.id,
    chatId: row.chatId,
    threadId: row.threadId,
    userId: row.userId,
    updateId: row.updateId,
    prompt: row.prompt,
    attachments: row.attachments,
    files: row.files,
    retryOf: row.retryOf,
    answer: row.answer,
    state: row.state,
    stopReason: row.stopReason,
    error: row.error,
    interruptNotified: row.interruptNotified,
    delivery: row.delivery,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** True while `fence`'s worker still holds that epoch of the shard, by the database's clock. */
export function leaseHeld(fence: TurnFence): SQL {
  return sql`exists (select 1 from ${shardLease} where ${shardLease.shard} = ${fence.shard}
    and ${shardLease.workerId} = ${fence.workerId} and ${shardLease.epoch} = ${fence.epoch}
    and ${shardLease.leaseUntil} > now())`;
}

/**
 * The `turns` table on PostgreSQL: the journal of src/db/turn-journal.ts (every change a
 * compare-and-set from an expected state), with fencing: a turn claimed under a shard lease records
 * it, and its later changes need the same lease, still held.
 */
export function createPgJournal(db: PgDb, now: () => Date) {
  const transition = async (
    id: number,
    from: TurnState[],
    to: TurnState,
    set: Partial<PgTurnRow>,
    guard?: SQL,
  ): Promise<boolean> => {
    const rows = await db
      .update(turns)
      .set({ ...set, state: to })
      .where(and(eq(turns.id, id), inArray(turns.state, from), guard))
      .returning({ id: turns.id });
    return rows.length === 1;
  };

  return {
    /** Inserts a queued turn; undefined when a turn of the same update id exists (ON CONFLICT DO NOTHING). */
    async create(executor: PgExecutor, turn: NewTurn): Promise<number | undefined> {
      const [row] = await executor
        .insert(turns)
        .values({
          ...turn.key,
          prompt: turn.prompt,
          updateId: turn.updateId ?? null,
          attachments: turn.attachments ?? null,
          files: turn.files ?? null,
          retryOf: turn.retryOf ?? null,
          createdAt: now(),
        })
        .onConflictDoNothing({ target: turns.updateId, where: sql`${turns.updateId} is not null` })
        .returning({ id: turns.id });
      return row?.id;
    },

    /** queued → running, recording the fence; with a fence only while its lease is held. */
    start(id: number, fence?: TurnFence): Promise<boolean> {
      const lease = fence
        ? { leaseShard: fence.shard, leaseEpoch: fence.epoch, workerId: fence.workerId }
        : {};
      return transition(id, ["queued"], "running", { startedAt: now(), ...lease }, fence && leaseHeld(fence));
    },

    /** running → a final state; with a fence only under the lease the turn was claimed with, still held. */
    finish(id: number, state: FinalTurnState, end: TurnEnd = {}, fence?: TurnFence): Promise<boolean> {
      const sameLease =
        fence &&
        and(
          eq(turns.leaseShard, fence.shard),
          eq(turns.leaseEpoch, fence.epoch),
          eq(turns.workerId, fence.workerId),
          leaseHeld(fence),
        );
      const set = {
        answer: end.answer ?? null,
        stopReason: end.stopReason ?? null,
        error: end.error ?? null,
        finishedAt: now(),
      };
      return transition(id, ["running"], state, set, sameLease);
    },

    /** queued → cancelled or interrupted (dropped before it ran). */
    drop(id: number, state: "cancelled" | "interrupted", error?: string): Promise<boolean> {
      return transition(id, ["queued"], state, { error: error ?? null, finishedAt: now() });
    },

    /** queued or running → interrupted; with a fence only while that (new owner's) lease is held. */
    interrupt(id: number, error: string, fence?: TurnFence): Promise<boolean> {
      const guard = fence && leaseHeld(fence);
      return transition(id, ["queued", "running"], "interrupted", { error, finishedAt: now() }, guard);
    },

    /**
     * Turns left queued or running become interrupted when `interruptLeftovers`; returns the
     * interrupted turns whose topic has not been told, oldest first.
     */
    async recoverInterrupted(interruptLeftovers: boolean): Promise<TurnRecord[]> {
      if (interruptLeftovers) {
        await db
          .update(turns)
          .set({ state: "interrupted", error: "the bot stopped during this turn", finishedAt: now() })
          .where(inArray(turns.state, ["queued", "running"]));
      }
      const rows = await db
        .select()
        .from(turns)
        .where(and(eq(turns.state, "interrupted"), eq(turns.interruptNotified, false)))
        .orderBy(turns.id);
      return rows.map(turnRecord);
    },

    /** Records the agent process a turn runs in. */
    async recordAgent(id: number, agent: AgentRecord): Promise<void> {
      await db
        .update(turns)
        .set({ agentPid: agent.pid, agentStartTime: agent.startTime, agentMarker: agent.marker })
        .where(eq(turns.id, id));
    },

    /** The agent processes recorded for turns still queued or running. */
    async recordedAgents(): Promise<Array<AgentRecord & { turnId: number }>> {
      const rows = await db
        .select({
          turnId: turns.id,
          pid: turns.agentPid,
          startTime: turns.agentStartTime,
          marker: turns.agentMarker,
        })
        .from(turns)
        .where(and(inArray(turns.state, ["queued", "running"]), isNotNull(turns.agentPid)));
      return agentRecords(rows);
    },

    /** Marks a completed turn's answer as cut by a shutdown ("cut") or offered to its topic. */
    async markDelivery(id: number, delivery: "cut" | "offered"): Promise<void> {
      await db.update(turns).set({ delivery }).where(eq(turns.id, id));
    },

    /** Completed turns whose answer a shutdown cut and that were not offered yet, oldest first. */
    async cutAnswers(): Promise<TurnRecord[]> {
      const rows = await db.select().from(turns).where(eq(turns.delivery, "cut")).orderBy(turns.id);
      return rows.map(turnRecord);
    },

    /** Records that the topic was told of an interrupted turn. */
    async markInterruptNotified(id: number): Promise<void> {
      await db.update(turns).set({ interruptNotified: true }).where(eq(turns.id, id));
    },

    /** One turn by id. */
    async get(id: number): Promise<TurnRecord | undefined> {
      const [row] = await db.select().from(turns).where(eq(turns.id, id));
      return row && turnRecord(row);
    },

    /** The turn that retried `id`, if any. */
    async retryOf(id: number): Promise<TurnRecord | undefined> {
      const [row] = await db.select().from(turns).where(eq(turns.retryOf, id)).limit(1);
      return row && turnRecord(row);
    },
  };
}
