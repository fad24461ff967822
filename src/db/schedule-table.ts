import { and, asc, count, eq, lte, min } from "drizzle-orm";
import type { NewSchedule, ScheduleRecord } from "../domain/schedule.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { OpenDatabase } from "./database.js";
import { mcpTokens, type ScheduleRow, schedules } from "./schema.js";

/** A row of either dialect's `schedules` table, timestamps as ISO strings, as a {@link ScheduleRecord}. */
export function scheduleRecord(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    key: { chatId: row.chatId, threadId: row.threadId, userId: row.userId },
    prompt: row.prompt,
    cron: row.cron,
    timeZone: row.timeZone,
    nextRunAt: row.nextRunAt,
    createdAt: row.createdAt,
  };
}

const ofKey = (table: typeof schedules | typeof mcpTokens, key: TopicKey) =>
  and(eq(table.chatId, key.chatId), eq(table.threadId, key.threadId), eq(table.userId, key.userId));

/**
 * The `schedules` and `mcp_tokens` tables on the embedded SQLite file, synchronous (the store
 * wraps each call in a promise). ISO 8601 strings of one format compare in time order, so due
 * schedules are found with a plain `<=`.
 */
export function createScheduleTable(database: OpenDatabase, now: () => Date) {
  const { db, sqlite } = database;
  const add = sqlite.transaction((schedule: NewSchedule, limit: number): ScheduleRecord | undefined => {
    const [row] = db.select({ n: count() }).from(schedules).where(ofKey(schedules, schedule.key)).all();
    if ((row?.n ?? 0) >= limit) return undefined;
    const { key, ...rest } = schedule;
    const inserted = db
      .insert(schedules)
      .values({ ...key, ...rest, createdAt: now().toISOString() })
      .returning()
      .get();
    return scheduleRecord(inserted);
  });
  return {
    add,
    list: (key: TopicKey): ScheduleRecord[] =>
      db
        .select()
        .from(schedules)
        .where(ofKey(schedules, key))
        .orderBy(asc(schedules.nextRunAt), asc(schedules.id))
        .all()
        .map(scheduleRecord),
    get: (id: number): ScheduleRecord | undefined => {
      const row = db.select().from(schedules).where(eq(schedules.id, id)).get();
      return row && scheduleRecord(row);
    },
    due: (at: Date): ScheduleRecord[] =>
      db
        .select()
        .from(schedules)
        .where(lte(schedules.nextRunAt, at.toISOString()))
        .orderBy(asc(schedules.nextRunAt), asc(schedules.id))
        .all()
        .map(scheduleRecord),
    next: (): string | undefined =>
      db
        .select({ at: min(schedules.nextRunAt) })
        .from(schedules)
        .get()?.at ?? undefined,
    advance: (id: number, from: string, to: string | null): boolean => {
      const which = and(eq(schedules.id, id), eq(schedules.nextRunAt, from));
      const result =
        to === null
          ? db.delete(schedules).where(which).run()
          : db.update(schedules).set({ nextRunAt: to }).where(which).run();
      return result.changes === 1;
    },
    cancel: (id: number): boolean => db.delete(schedules).where(eq(schedules.id, id)).run().changes === 1,

    saveToken: (tokenHash: string, key: TopicKey): void => {
      db.insert(mcpTokens)
        .values({ tokenHash, ...key, createdAt: now().toISOString() })
        .run();
    },
    tokenKey: (tokenHash: string): TopicKey | undefined => {
      const row = db.select().from(mcpTokens).where(eq(mcpTokens.tokenHash, tokenHash)).get();
      return row && { chatId: row.chatId, threadId: row.threadId, userId: row.userId };
    },
    revokeTokens: (key?: TopicKey): void => {
      if (key) db.delete(mcpTokens).where(ofKey(mcpTokens, key)).run();
      else db.delete(mcpTokens).run();
    },
  };
}
