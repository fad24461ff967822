import { describe, expect, it } from "vitest";
import type { Store } from "../../src/domain/store.js";
import type { TopicKey } from "../../src/domain/topic-key.js";

/** A store under test, on a clock the test moves; `reopen` closes it and opens the same data again. */
export type StoreFixture = {
  store: Store;
  clock: { now: Date };
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
};

const key: TopicKey = { chatId: -100, threadId: 7, userId: 42 };
const other: TopicKey = { chatId: -100, threadId: 8, userId: 42 };

/**
 * The contract every {@link Store} implementation keeps, run against `make()`: sessions, model
 * choices, permission grants, the update-id dedupe and the turn journal's compare-and-set states.
 */
export function storeContract(name: string, make: () => Promise<StoreFixture>): void {
  const using = async (test: (fixture: StoreFixture) => Promise<void>) => {
    const fixture = await make();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`Store contract: ${name}`, () => {
    it("dedupes update ids, also after a reopen", () =>
      using(async (f) => {
        expect(await f.store.firstSeen(1)).toBe(true);
        expect(await f.store.firstSeen(1)).toBe(false);
        expect(await f.store.firstSeen(2)).toBe(true);
        const again = await f.reopen();
        expect(await again.firstSeen(1)).toBe(false);
        expect(await again.firstSeen(3)).toBe(true);
      }));

    it("keeps a key's session, workspace and model; /new forgets only the session id", () =>
      using(async ({ store }) => {
        expect(await store.session(key)).toBeUndefined();
        expect(await store.model(key)).toBe("auto");
        await store.setModel(key, "smart");
        await store.saveSession(key, "s-1", "/w/7");
        expect(await store.session(key)).toMatchObject({
          ...key,
          sessionId: "s-1",
          workspacePath: "/w/7",
          model: "smart",
        });
        await store.saveSession(key, "s-2", "/w/7");
        expect(await store.model(key)).toBe("smart");
        await store.clearSession(key);
        expect(await store.session(key)).toMatchObject({
          sessionId: null,
          workspacePath: "/w/7",
          model: "smart",
        });
        expect(await store.session(other)).toBeUndefined();
      }));

    it("keeps a key's setting choices one by one, beside its session and model, across a reopen", () =>
      using(async (f) => {
        await f.store.setSetting(key, "mode", "plan");
        expect((await f.store.session(key))?.settings).toEqual({ mode: "plan" });
        await f.store.saveSession(key, "s-1", "/w/7");
        await f.store.setModel(key, "smart");
        await f.store.setSetting(key, "effort", "high");
        await f.store.setSetting(key, "mode", "code");
        expect(await f.store.session(key)).toMatchObject({
          sessionId: "s-1",
          model: "smart",
          settings: { mode: "code", effort: "high" },
        });
        await f.store.setSetting(key, "mode", undefined);
        const again = await f.reopen();
        expect((await again.session(key))?.settings).toEqual({ effort: "high" });
        expect((await again.session(other))?.settings).toBeUndefined();
      }));

    it("lists every user's sessions of one forum topic", () =>
      using(async ({ store }) => {
        await store.saveSession(key, "s-1", "/w/7");
        await store.saveSession({ ...key, userId: 43 }, "s-2", "/w/7b");
        await store.saveSession(other, "s-3", "/w/8");
        await store.saveSession({ ...key, chatId: -200 }, "s-4", "/w/y");
        const rows = await store.topicSessions(key.chatId, key.threadId);
        expect(rows.map((r) => r.sessionId).sort()).toEqual(["s-1", "s-2"]);
        expect(await store.topicSessions(key.chatId, 99)).toEqual([]);
      }));

    it("lists one user's sessions in a chat, most recently updated first", () =>
      using(async ({ store, clock }) => {
        await store.saveSession(key, "s-1", "/w/7");
        clock.now = new Date(clock.now.getTime() + 1000);
        await store.saveSession(other, "s-2", "/w/8");
        await store.saveSession({ ...key, userId: 43 }, "s-3", "/w/x");
        await store.saveSession({ ...key, chatId: -200 }, "s-4", "/w/y");
        expect((await store.listSessions(-100, 42)).map((row) => row.sessionId)).toEqual(["s-2", "s-1"]);
      }));

    it("remembers allow-always grants per key and tool kind", () =>
      using(async ({ store }) => {
        expect(await store.hasPermissionGrant(key, "execute")).toBe(false);
        await store.grantPermission(key, "execute");
        await store.grantPermission(key, "execute");
        expect(await store.hasPermissionGrant(key, "execute")).toBe(true);
        expect(await store.hasPermissionGrant(key, "edit")).toBe(false);
        expect(await store.hasPermissionGrant(other, "execute")).toBe(false);
      }));

    it("journals a prompt once per update id and moves it through its states by compare-and-set", () =>
      using(async ({ store }) => {
        const id = await store.enqueueTurn({ key, prompt: "hello", updateId: 500 });
        expect(id).toEqual(expect.any(Number));
        expect(await store.enqueueTurn({ key, prompt: "hello", updateId: 500 })).toBeUndefined();
        const turnId = id as number;
        expect(await store.turn(turnId)).toMatchObject({
          ...key,
          prompt: "hello",
          updateId: 500,
          state: "queued",
        });
        expect(await store.finishTurn(turnId, "completed")).toBe(false);
        expect(await store.claimTurn(turnId)).toBe(true);
        expect(await store.claimTurn(turnId)).toBe(false);
        expect(await store.dropTurn(turnId, "cancelled")).toBe(false);
        expect(await store.finishTurn(turnId, "completed", { answer: "hi", stopReason: "end_turn" })).toBe(
          true,
        );
        expect(await store.finishTurn(turnId, "failed")).toBe(false);
        expect(await store.turn(turnId)).toMatchObject({
          state: "completed",
          answer: "hi",
          stopReason: "end_turn",
        });
        const dropped = (await store.enqueueTurn({ key, prompt: "later" })) as number;
        expect(await store.dropTurn(dropped, "cancelled")).toBe(true);
        expect(await store.claimTurn(dropped)).toBe(false);
        expect((await store.listSessions(key.chatId, key.userId)).length).toBe(1);
      }));

    it("interrupts a queued or running turn once, never an ended one", () =>
      using(async ({ store }) => {
        const running = (await store.enqueueTurn({ key, prompt: "one" })) as number;
        await store.claimTurn(running);
        const queued = (await store.enqueueTurn({ key, prompt: "two" })) as number;
        expect(await store.interruptTurn(running, "the worker stopped")).toBe(true);
        expect(await store.interruptTurn(running, "again")).toBe(false);
        expect(await store.finishTurn(running, "completed")).toBe(false);
        expect(await store.turn(running)).toMatchObject({
          state: "interrupted",
          error: "the worker stopped",
        });
        expect(await store.interruptTurn(queued, "the worker stopped")).toBe(true);
        expect(await store.claimTurn(queued)).toBe(false);
      }));

    it("turns what a crash left queued or running into interrupted turns to announce, once", () =>
      using(async (f) => {
        const running = (await f.store.enqueueTurn({
          key,
          prompt: "one",
          attachments: [{ path: "/w/a.txt", name: "a.txt", mimeType: "text/plain", size: 3 }],
        })) as number;
        await f.store.claimTurn(running);
        const queued = (await f.store.enqueueTurn({ key: other, prompt: "two" })) as number;
        const store = await f.reopen();
        const interrupted = await store.recoverInterrupted();
        expect(interrupted.map((t) => [t.id, t.state])).toEqual([
          [running, "interrupted"],
          [queued, "interrupted"],
        ]);
        expect(interrupted[0]?.attachments).toEqual([
          { path: "/w/a.txt", name: "a.txt", mimeType: "text/plain", size: 3 },
        ]);
        await store.markInterruptNotified(running);
        expect((await store.recoverInterrupted()).map((t) => t.id)).toEqual([queued]);
        const retry = (await store.enqueueTurn({ key, prompt: "one", retryOf: running })) as number;
        expect((await store.retryOf(running))?.id).toBe(retry);
        expect(await store.retryOf(queued)).toBeUndefined();
      }));

    it("expires keys idle longer than the TTL with their journal and grants", () =>
      using(async ({ store, clock }) => {
        await store.enqueueTurn({ key, prompt: "old" });
        await store.grantPermission(key, "read");
        clock.now = new Date(clock.now.getTime() + 10 * 86_400_000);
        await store.enqueueTurn({ key: other, prompt: "new" });
        expect(await store.expireIdle(5)).toEqual([key]);
        expect(await store.session(key)).toBeUndefined();
        expect(await store.hasPermissionGrant(key, "read")).toBe(false);
        expect(await store.session(other)).toBeDefined();
      }));
    it("keeps schedules per key within a limit, finds the due ones and fires each occurrence once", () =>
      using(async (f) => {
        const at = (iso: string) => ({
          key,
          prompt: "check CI",
          cron: null,
          timeZone: "UTC",
          nextRunAt: iso,
        });
        const first = await f.store.addSchedule(at("2026-01-01T09:00:00.000Z"), 2);
        expect(first).toMatchObject({
          key,
          prompt: "check CI",
          cron: null,
          nextRunAt: "2026-01-01T09:00:00.000Z",
        });
        const daily = await f.store.addSchedule(
          { ...at("2026-01-01T08:00:00.000Z"), cron: "0 8 * * *", timeZone: "Europe/Berlin" },
          2,
        );
        expect(await f.store.addSchedule(at("2026-01-02T00:00:00.000Z"), 2)).toBeUndefined();
        expect(await f.store.addSchedule({ ...at("2026-01-02T00:00:00.000Z"), key: other }, 2)).toBeDefined();
        expect((await f.store.schedules(key)).map((s) => s.id)).toEqual([daily?.id, first?.id]);
        expect(await f.store.nextScheduleAt()).toBe("2026-01-01T08:00:00.000Z");
        expect((await f.store.dueSchedules(new Date("2026-01-01T08:30:00.000Z"))).map((s) => s.id)).toEqual([
          daily?.id,
        ]);
        const dailyId = daily?.id as number;
        expect(
          await f.store.advanceSchedule(dailyId, "2026-01-01T08:00:00.000Z", "2026-01-02T08:00:00.000Z"),
        ).toBe(true);
        // A second runner that read the same due row loses.
        expect(
          await f.store.advanceSchedule(dailyId, "2026-01-01T08:00:00.000Z", "2026-01-02T08:00:00.000Z"),
        ).toBe(false);
        const store = await f.reopen();
        expect(await store.schedule(dailyId)).toMatchObject({
          cron: "0 8 * * *",
          timeZone: "Europe/Berlin",
          nextRunAt: "2026-01-02T08:00:00.000Z",
        });
        // A one-shot that fires is gone.
        expect(await store.advanceSchedule(first?.id as number, "2026-01-01T09:00:00.000Z", null)).toBe(true);
        expect(await store.schedule(first?.id as number)).toBeUndefined();
        expect(await store.cancelSchedule(dailyId)).toBe(true);
        expect(await store.cancelSchedule(dailyId)).toBe(false);
        expect(await store.schedules(key)).toEqual([]);
      }));

    it("keeps MCP token hashes per key and revokes them per key or all at once", () =>
      using(async ({ store }) => {
        await store.saveMcpToken("a".repeat(64), key);
        await store.saveMcpToken("b".repeat(64), other);
        await store.saveMcpToken("c".repeat(64), other);
        expect(await store.mcpTokenKey("a".repeat(64))).toEqual(key);
        expect(await store.mcpTokenKey("d".repeat(64))).toBeUndefined();
        await store.revokeMcpTokens(other);
        expect(await store.mcpTokenKey("b".repeat(64))).toBeUndefined();
        expect(await store.mcpTokenKey("a".repeat(64))).toEqual(key);
        await store.revokeMcpTokens();
        expect(await store.mcpTokenKey("a".repeat(64))).toBeUndefined();
      }));
  });
}
