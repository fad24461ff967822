import { and, asc, count, eq, lte, min, sql } from "drizzle-orm";
import type { NewSchedule, ScheduleRecord } from "../../domain/schedule.js";
import type { TopicKey } from "../../domain/topic-key.js";
import { scheduleRecord as sqliteShape } from "../schedule-table.js";
import type { PgDb } from "./database.js";
import { mcpTokens, type PgScheduleRow, schedules } from "./schema.js";

/** A Postgres row (timestamps as Dates) as a record, through the SQLite store's mapping. */
const scheduleRecord = (row: PgScheduleRow): ScheduleRecord =>
  sqliteShape({ ...row, nextRunAt: row.nextRunAt.toISOString(), createdAt: row.createdAt.toISOString() });

const ofKey = (table: typeof schedules | typeof mcpTokens, key: TopicKey) =>
  and(eq(table.chatId, key.chatId), eq(table.threadId, key.threadId), eq(table.userId, key.userId));

/**
 * The `schedules` and `mcp_tokens` tables on PostgreSQL, with the semantics of the SQLite store
 * (src/db/schedule-table.ts). addSchedule counts and inserts in one transaction under a
 * transaction-scoped advisory lock on the key (pg_advisory_xact_lock), so two processes adding at
 * once cannot both pass the limit.
 */
export function createPgSchedules(db: PgDb, now: () => Date) {
  return {
    add: (schedule: NewSchedule, limit: number): Promise<ScheduleRecord | undefined> =>
      db.transaction(async (tx) => {
        const { key, ...rest } = schedule;
        const lockName = `schedules:${key.chatId}:${key.threadId}:${key.userId}`;
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${lockName}))`);
        const [row] = await tx.select({ n: count() }).from(schedules).where(ofKey(schedules, key));
        if ((row?.n ?? 0) >= limit) return undefined;
        const [inserted] = await tx
          .insert(schedules)
          .values({ ...key, ...rest, nextRunAt: new Date(rest.nextRunAt), createdAt: now() })
          .returning();
        return inserted && scheduleRecord(inserted);
      }),
    list: async (key: TopicKey): Promise<ScheduleRecord[]> =>
      (
        await db
          .select()
          .from(schedules)
          .where(ofKey(schedules, key))
          .orderBy(asc(schedules.nextRunAt), asc(schedules.id))
      ).map(scheduleRecord),
    get: async (id: number): Promise<ScheduleRecord | undefined> => {
      const [row] = await db.select().from(schedules).where(eq(schedules.id, id));
      return row && scheduleRecord(row);
    },
    due: async (at: Date): Promise<ScheduleRecord[]> =>
      (
        await db
          .select()
          .from(schedules)
          .where(lte(schedules.nextRunAt, at))
          .orderBy(asc(schedules.nextRunAt), asc(schedules.id))
      ).map(scheduleRecord),
    next: async (): Promise<string | undefined> => {
      const [row] = await db.select({ at: min(schedules.nextRunAt) }).from(schedules);
      return row?.at ? new Date(row.at).toISOString() : undefined;
    },
    advance: async (id: number, from: string, to: string | null): Promise<boolean> => {
      const which = and(eq(schedules.id, id), eq(schedules.nextRunAt, new Date(from)));
      const rows =
        to === null
          ? await db.delete(schedules).where(which).returning({ id: schedules.id })
          : await db
              .update(schedules)
              .set({ nextRunAt: new Date(to) })
              .where(which)
              .returning({ id: schedules.id });
      return rows.length === 1;
    },
    cancel: async (id: number): Promise<boolean> =>
      (await db.delete(schedules).where(eq(schedules.id, id)).returning({ id: schedules.id })).length === 1,

    saveToken: async (tokenHash: string, key: TopicKey): Promise<void> => {
      await db.insert(mcpTokens).values({ tokenHash, ...key, createdAt: now() });
    },
    tokenKey: async (tokenHash: string): Promise<TopicKey | undefined> => {
      const [row] = await db.select().from(mcpTokens).where(eq(mcpTokens.tokenHash, tokenHash));
      return row && { chatId: row.chatId, threadId: row.threadId, userId: row.userId };
    },
    revokeTokens: async (key?: TopicKey): Promise<void> => {
      if (key) await db.delete(mcpTokens).where(ofKey(mcpTokens, key));
      else await db.delete(mcpTokens);
    },
  };
}
