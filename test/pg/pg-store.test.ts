import { afterEach, expect, it } from "vitest";
import { DatabaseOpenError } from "../../src/db/database.js";
import { type OpenPgDatabase, openPgDatabase } from "../../src/db/pg/database.js";
import { createPgStore, openPgStore } from "../../src/db/pg/pg-store.js";
import { createShardLeases } from "../../src/db/pg/shard-leases.js";
import type { TopicKey } from "../../src/domain/topic-key.js";
import { usePostgres } from "../support/use-postgres.js";

const pg = usePostgres();
const key: TopicKey = { chatId: -1001234567890, threadId: 7, userId: 42 };
const opened: OpenPgDatabase[] = [];
afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
});
const open = async (url: string) => {
  const database = await openPgDatabase(url, { poolSize: 2 });
  opened.push(database);
  return database;
};

it("says in one line which host is unreachable, without the password", async () => {
  const err = await openPgStore("postgres://tg:hunter2-secret@127.0.0.1:1/tg", {
    connectTimeoutMs: 2000,
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DatabaseOpenError);
  const message = (err as Error).message;
  expect(message).toMatch(
    /^DATABASE_URL postgres:\/\/tg:\*\*\*@127\.0\.0\.1:1\/tg: PostgreSQL at 127\.0\.0\.1:1 cannot be reached: /,
  );
  expect(message).not.toContain("hunter2");
  expect(message).not.toContain("\n");
});

pg.describe("PostgreSQL", () => {
  it("fences a turn's writes with the shard lease it was claimed under", async () => {
    const database = await open(await pg.server().createDatabase());
    const store = createPgStore(database);
    const w1 = createShardLeases(database.db, { workerId: "w1", shards: 2, ttlMs: 20_000 });
    const w2 = createShardLeases(database.db, { workerId: "w2", shards: 2, ttlMs: 20_000 });
    await w1.ensureShards();
    expect((await w1.free()).sort()).toEqual([0, 1]);
    const held = (await w1.take([0, 1])).sort((a, b) => a.shard - b.shard);
    expect(held).toEqual([
      { shard: 0, epoch: 1 },
      { shard: 1, epoch: 1 },
    ]);
    expect(await w2.free()).toEqual([]);
    expect(await w2.take([0, 1])).toEqual([]);
    expect(await w1.heartbeat(3)).toEqual([]);
    expect(await w2.heartbeat(5)).toEqual([3]);
    expect(await w1.heartbeat(4)).toEqual([5]);

    const old = w1.fence({ shard: 0, epoch: 1 });
    const running = (await store.enqueueTurn({ key, prompt: "one", updateId: 9 })) as number;
    const queued = (await store.enqueueTurn({ key, prompt: "two" })) as number;
    expect(await store.claimTurn(running, old)).toBe(true);
    expect(await store.turn(running)).toMatchObject({ state: "running", chatId: key.chatId });

    // w1 loses shard 0 (here: gives it up); w2 takes it at epoch 2.
    await w1.release([{ shard: 0, epoch: 1 }]);
    expect([...(await w1.renew(held))]).toEqual([1]);
    expect(await w2.free()).toEqual([0]);
    const [taken] = await w2.take([0, 1]);
    expect(taken).toEqual({ shard: 0, epoch: 2 });
    const current = w2.fence({ shard: 0, epoch: 2 });

    expect(await store.finishTurn(running, "completed", { answer: "late" }, old)).toBe(false);
    expect(await store.claimTurn(queued, old)).toBe(false);
    expect(await store.finishTurn(running, "completed", {}, current)).toBe(false);
    expect(await store.interruptTurn(running, "its worker lost the shard", old)).toBe(false);
    expect(await store.interruptTurn(running, "its worker lost the shard", current)).toBe(true);
    expect(await store.turn(running)).toMatchObject({ state: "interrupted", answer: null });
    expect(await store.claimTurn(queued, current)).toBe(true);
    expect(await store.finishTurn(queued, "completed", { answer: "hi" }, current)).toBe(true);
  });

  it("journals one turn per update id, also when two processes race, and sends within the transaction", async () => {
    const url = await pg.server().createDatabase();
    const sent: number[] = [];
    const a = createPgStore(await open(url), {
      onEnqueued: async (_tx, turn) => void sent.push(turn.turnId),
    });
    const b = createPgStore(await open(url), {
      onEnqueued: async (_tx, turn) => void sent.push(turn.turnId),
    });
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).enqueueTurn({ key, prompt: "p", updateId: 77 })),
    );
    expect(ids.filter((id) => id !== undefined)).toHaveLength(1);
    expect(sent).toEqual(ids.filter((id) => id !== undefined));
    expect(await a.firstSeen(77)).toBe(false);

    const failing = createPgStore(await open(url), {
      onEnqueued: async () => {
        throw new Error("queue down");
      },
    });
    await expect(failing.enqueueTurn({ key, prompt: "p", updateId: 78 })).rejects.toThrow("queue down");
    expect(await a.firstSeen(78)).toBe(true);
    expect((await a.enqueueTurn({ key, prompt: "p", updateId: 78 })) ?? 0).toBeGreaterThan(0);
  });
});
