import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatabaseOpenError, openDatabase } from "../src/db/database.js";
import { createSessionStore } from "../src/db/session-store.js";
import { AUTO_MODEL } from "../src/domain/turn.js";
import { makeTempDir } from "./support/temp-dir.js";

let temp: ReturnType<typeof makeTempDir>;
let file: string;
beforeEach(() => {
  temp = makeTempDir();
  file = path.join(temp.dir, "nested", "tg-acp.db");
});
afterEach(() => temp.cleanup());

const key = { chatId: -1001234567890, threadId: 2391, userId: 111222333 };
/** Every migration drizzle-kit generated (drizzle/meta/_journal.json). */
const MIGRATIONS = (
  JSON.parse(fs.readFileSync(new URL("../drizzle/meta/_journal.json", import.meta.url), "utf8")) as {
    entries: unknown[];
  }
).entries.length;

describe("session store", () => {
  it("applies the drizzle migrations to a real file with WAL and busy_timeout", () => {
    const database = openDatabase(file);
    expect(database.sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(database.sqlite.pragma("busy_timeout", { simple: true })).toBe(5000);
    database.close();

    const raw = new Database(file, { readonly: true });
    const columns = raw.prepare("select name, pk from pragma_table_info('sessions') order by cid").all();
    expect(columns).toEqual([
      { name: "chat_id", pk: 1 },
      { name: "thread_id", pk: 2 },
      { name: "user_id", pk: 3 },
      { name: "session_id", pk: 0 },
      { name: "workspace_path", pk: 0 },
      { name: "model", pk: 0 },
      { name: "created_at", pk: 0 },
      { name: "updated_at", pk: 0 },
      { name: "last_activity_at", pk: 0 }, // added by migration 0002 (ALTER TABLE appends)
      { name: "settings", pk: 0 }, // added by migration 0007
    ]);
    expect(raw.prepare("select count(*) as n from __drizzle_migrations").get()).toEqual({ n: MIGRATIONS });
    raw.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("migrates an existing file only once", () => {
    openDatabase(file).close();
    const again = openDatabase(file);
    expect(again.sqlite.prepare("select count(*) as n from __drizzle_migrations").get()).toEqual({
      n: MIGRATIONS,
    });
    again.close();
  });

  it("gets, upserts and keeps rows across reopening", () => {
    let times = 0;
    const clock = () => new Date(Date.UTC(2026, 10, 22, 10, 0, times++));
    const store = createSessionStore(openDatabase(file), clock);
    expect(store.get(key)).toBeUndefined();
    store.upsert(key, "session-1", "/ws/a");
    const row = store.get(key);
    expect(row).toMatchObject({
      ...key,
      sessionId: "session-1",
      workspacePath: "/ws/a",
      model: AUTO_MODEL,
    });
    expect(row?.createdAt).toBe("2026-11-22T10:00:00.000Z");
    store.upsert(key, "session-2", "/ws/a");
    expect(store.get(key)).toMatchObject({
      sessionId: "session-2",
      createdAt: "2026-11-22T10:00:00.000Z",
      updatedAt: "2026-11-22T10:00:01.000Z",
    });
    store.close();

    const reopened = createSessionStore(openDatabase(file));
    expect(reopened.get(key)?.sessionId).toBe("session-2");
    reopened.close();
  });

  it("keeps the model when the session id is replaced (the seed's INSERT OR REPLACE reset it)", () => {
    const store = createSessionStore(openDatabase(file));
    store.upsert(key, "session-1", "/ws/a");
    store.setModel(key, "claude-opus-4.6");
    store.upsert(key, "session-2", "/ws/a");
    expect(store.getModel(key)).toBe("claude-opus-4.6");
    store.close();
  });

  it("stores a model chosen before the first message, and answers 'auto' for unknown keys", () => {
    const store = createSessionStore(openDatabase(file));
    expect(store.getModel(key)).toBe("auto");
    store.setModel(key, "gpt-5");
    expect(store.get(key)).toMatchObject({ sessionId: null, model: "gpt-5" });
    store.upsert(key, "session-1", "/ws/a");
    expect(store.get(key)).toMatchObject({ sessionId: "session-1", model: "gpt-5" });
    store.close();
  });

  it("keys by chat as well as topic and user: the same topic id in two chats does not collide", () => {
    const store = createSessionStore(openDatabase(file));
    const otherChat = { ...key, chatId: -1009999999999 };
    const otherUser = { ...key, userId: 42 };
    store.upsert(key, "s-a", "/ws/a");
    store.upsert(otherChat, "s-b", "/ws/b");
    store.upsert(otherUser, "s-c", "/ws/c");
    expect(store.get(key)?.sessionId).toBe("s-a");
    expect(store.get(otherChat)?.sessionId).toBe("s-b");
    expect(store.get(otherUser)?.sessionId).toBe("s-c");
    expect(store.get({ ...key, threadId: 0 })).toBeUndefined();
    store.close();
  });

  it("fails with one line naming DATABASE_PATH when the file cannot be created", () => {
    const blocker = path.join(temp.dir, "a-file");
    fs.writeFileSync(blocker, "");
    expect(() => openDatabase(path.join(blocker, "db.sqlite"))).toThrow(DatabaseOpenError);
    expect(() => openDatabase(path.join(blocker, "db.sqlite"))).toThrow(/^DATABASE_PATH .* cannot be opened/);
  });

  it("forgets a session id on clearSession but keeps workspace and model", () => {
    const store = createSessionStore(openDatabase(file));
    store.upsert(key, "session-1", "/ws/a");
    store.setModel(key, "smart");
    store.clearSession(key);
    expect(store.get(key)).toMatchObject({ sessionId: null, workspacePath: "/ws/a", model: "smart" });
    store.clearSession({ ...key, threadId: 99 }); // no row: no-op
    expect(store.get({ ...key, threadId: 99 })).toBeUndefined();
    store.close();
  });

  it("lists one user's rows in one chat, most recently updated first", () => {
    let tick = 0;
    const store = createSessionStore(openDatabase(file), () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)));
    store.upsert({ ...key, threadId: 1 }, "s1", "/ws/1");
    store.upsert({ ...key, threadId: 2 }, "s2", "/ws/2");
    store.upsert({ ...key, threadId: 1 }, "s1b", "/ws/1");
    store.upsert({ ...key, userId: 5 }, "other-user", "/ws/x");
    store.upsert({ ...key, chatId: 7 }, "other-chat", "/ws/y");
    expect(store.list(key.chatId, key.userId).map((r) => r.sessionId)).toEqual(["s1b", "s2"]);
    store.close();
  });

  it("remembers permission grants per key and tool kind, across reopening", () => {
    const store = createSessionStore(openDatabase(file));
    expect(store.hasPermissionGrant(key, "execute")).toBe(false);
    store.grantPermission(key, "execute");
    store.grantPermission(key, "execute");
    expect(store.hasPermissionGrant(key, "execute")).toBe(true);
    expect(store.hasPermissionGrant(key, "edit")).toBe(false);
    expect(store.hasPermissionGrant({ ...key, threadId: 1 }, "execute")).toBe(false);
    store.close();
    const reopened = createSessionStore(openDatabase(file));
    expect(reopened.hasPermissionGrant(key, "execute")).toBe(true);
    reopened.close();
  });
});
