import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/database.js";
import { importKiroclawSessions, KiroclawImportError } from "../src/db/kiroclaw-import.js";
import { KiroclawReadError, readKiroclawSessions } from "../src/db/kiroclaw-reader.js";
import { createSessionStore } from "../src/db/session-store.js";
import { runCliEntry } from "./support/run-cli.js";
import { makeTempDir } from "./support/temp-dir.js";

const SCHEMA = fs.readFileSync(new URL("./fixtures/kiroclaw-schema.sql", import.meta.url), "utf8");

let temp: ReturnType<typeof makeTempDir>;
let kiroclawDb: string;
let ourDb: string;
beforeEach(() => {
  temp = makeTempDir();
  kiroclawDb = path.join(temp.dir, "kiroclaw", "tg-acp.db");
  ourDb = path.join(temp.dir, "data", "tg-acp.db");
  fs.mkdirSync(path.dirname(kiroclawDb));
  const sqlite = new Database(kiroclawDb);
  sqlite.exec(SCHEMA);
  const insert = sqlite.prepare(
    "insert into sessions (user_id, thread_id, session_id, workspace_path, model, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)",
  );
  // Python's datetime.isoformat(): microseconds, with and without an offset.
  insert.run(
    42,
    7,
    "sess-a",
    "/srv/kiroclaw/workspaces/42/7",
    "claude-opus-5",
    "2025-03-01T10:00:00.123456",
    "2025-03-02T11:30:00.5+00:00",
  );
  insert.run(
    42,
    9,
    "sess-b",
    "/srv/kiroclaw/workspaces/42/9",
    "auto",
    "2025-04-01T08:00:00",
    "2025-04-01T09:00:00",
  );
  sqlite
    .prepare(
      "insert into sessions (user_id, thread_id, session_id, workspace_path, created_at, updated_at) values (?, ?, ?, ?, ?, ?)",
    )
    .run(
      43,
      7,
      "sess-c",
      "/srv/kiroclaw/workspaces/43/7",
      "2025-05-01T00:00:00+02:00",
      "2025-05-01T00:00:00+02:00",
    );
  sqlite.close();
});
afterEach(() => temp.cleanup());

describe("the kiroclaw import", () => {
  it("copies every row under the chat id, keeping session ids, models and timestamps (as UTC)", () => {
    const database = openDatabase(ourDb);
    const result = importKiroclawSessions(database, readKiroclawSessions(kiroclawDb), { chatId: -100123 });
    const store = createSessionStore(database);
    expect(result).toEqual({ imported: 3, skipped: 0, conflicting: [] });
    expect(store.get({ chatId: -100123, threadId: 7, userId: 42 })).toMatchObject({
      sessionId: "sess-a",
      workspacePath: "/srv/kiroclaw/workspaces/42/7",
      model: "claude-opus-5",
      createdAt: "2025-03-01T10:00:00.123Z",
      updatedAt: "2025-03-02T11:30:00.500Z",
      lastActivityAt: null,
    });
    // The seed schema's default model.
    expect(store.get({ chatId: -100123, threadId: 7, userId: 43 })).toMatchObject({
      sessionId: "sess-c",
      model: "auto",
      createdAt: "2025-04-30T22:00:00.000Z",
    });
    expect(store.list(-100123, 42).map((row) => row.sessionId)).toEqual(["sess-b", "sess-a"]);
    database.close();
  });

  it("rewrites workspace paths under --workspace-root as <root>/<user_id>/<thread_id>", () => {
    const database = openDatabase(ourDb);
    importKiroclawSessions(database, readKiroclawSessions(kiroclawDb), {
      chatId: 5,
      workspaceRoot: "/data/kc",
    });
    const store = createSessionStore(database);
    expect(store.get({ chatId: 5, threadId: 9, userId: 42 })?.workspacePath).toBe("/data/kc/42/9");
    expect(store.get({ chatId: 5, threadId: 7, userId: 43 })?.workspacePath).toBe("/data/kc/43/7");
    database.close();
  });

  it("never overwrites a row: an existing key is a conflict, a second run skips everything", () => {
    const database = openDatabase(ourDb);
    const store = createSessionStore(database);
    store.upsert({ chatId: 5, threadId: 7, userId: 42 }, "ours", "/data/workspaces/5/7/42");
    store.setModel({ chatId: 5, threadId: 7, userId: 42 }, "gpt-5.5");
    store.setModel({ chatId: 5, threadId: 9, userId: 42 }, "opus"); // a row without a session yet
    const rows = readKiroclawSessions(kiroclawDb);
    const first = importKiroclawSessions(database, rows, { chatId: 5 });
    expect(first).toEqual({
      imported: 1,
      skipped: 0,
      conflicting: [
        { key: { chatId: 5, threadId: 7, userId: 42 }, sessionId: "sess-a", existingSessionId: "ours" },
        { key: { chatId: 5, threadId: 9, userId: 42 }, sessionId: "sess-b", existingSessionId: null },
      ],
    });
    expect(store.get({ chatId: 5, threadId: 7, userId: 42 })).toMatchObject({
      sessionId: "ours",
      model: "gpt-5.5",
    });
    expect(store.get({ chatId: 5, threadId: 9, userId: 42 })).toMatchObject({
      sessionId: null,
      model: "opus",
    });
    const second = importKiroclawSessions(database, rows, { chatId: 5 });
    expect(second).toEqual({ imported: 0, skipped: 1, conflicting: first.conflicting });
    database.close();
  });

  it("imports nothing when one row cannot be read (one transaction)", () => {
    const sqlite = new Database(kiroclawDb);
    sqlite.prepare("update sessions set updated_at = 'yesterday' where user_id = 43").run();
    sqlite.close();
    const database = openDatabase(ourDb);
    expect(() => importKiroclawSessions(database, readKiroclawSessions(kiroclawDb), { chatId: 5 })).toThrow(
      new KiroclawImportError(
        'the row of user 43, thread 7 has an unreadable timestamp "yesterday"; nothing was imported',
      ),
    );
    expect(createSessionStore(database).list(5, 42)).toEqual([]);
    database.close();
  });

  it("refuses a file that is not kiroclaw's, in one line", () => {
    expect(() => readKiroclawSessions(path.join(temp.dir, "missing.db"))).toThrow(KiroclawReadError);
    const other = path.join(temp.dir, "other.db");
    const sqlite = new Database(other);
    sqlite.exec("create table sessions (session_id text primary key, messages text)");
    sqlite.close();
    expect(() => readKiroclawSessions(other)).toThrow(
      `--from ${other}: its sessions table lacks user_id, thread_id, workspace_path, model, created_at, updated_at (not a kiroclaw tg-acp.db?)`,
    );
  });
});

describe("npm run import:kiroclaw", () => {
  const run = (args: string[], env: Record<string, string> = { DATABASE_PATH: ourDb }) =>
    runCliEntry("import-kiroclaw", args, { env, cwd: temp.dir });

  it("prints imported / skipped / conflicting, and a second run imports nothing", async () => {
    const args = ["--from", kiroclawDb, "--chat-id", "-100123", "--workspace-root", "moved"];
    const first = await run(args);
    expect(first).toEqual({
      code: 0,
      stdout: `3 kiroclaw row(s) into ${ourDb} under chat -100123: 3 imported, 0 skipped (already imported), 0 conflicting\n`,
      stderr: "",
    });
    const second = await run(args);
    expect(second.stdout).toBe(
      `3 kiroclaw row(s) into ${ourDb} under chat -100123: 0 imported, 3 skipped (already imported), 0 conflicting\n`,
    );
    const database = openDatabase(ourDb);
    expect(
      createSessionStore(database).get({ chatId: -100123, threadId: 7, userId: 42 })?.workspacePath,
    ).toBe(path.join(temp.dir, "moved", "42", "7"));
    database.close();
  });

  it("names each conflict it left alone", async () => {
    const database = openDatabase(ourDb);
    createSessionStore(database).upsert({ chatId: 1, threadId: 9, userId: 42 }, "ours", "/w");
    database.close();
    const result = await run(["--from", kiroclawDb, "--chat-id", "1"]);
    expect(result.stdout).toBe(
      `conflict 1:9:42: kept session ours, not sess-b\n3 kiroclaw row(s) into ${ourDb} under chat 1: 2 imported, 0 skipped (already imported), 1 conflicting\n`,
    );
  });

  it("exits 2 with the usage on bad arguments, 1 with one line on a bad file", async () => {
    const noChat = await run(["--from", kiroclawDb]);
    expect(noChat.code).toBe(2);
    expect(noChat.stderr).toMatch(/^tg-acp import-kiroclaw: --chat-id is required\nusage: /);
    const missing = await run(["--from", "nope.db", "--chat-id", "1"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `tg-acp import-kiroclaw: --from ${path.join(temp.dir, "nope.db")} cannot be opened: unable to open database file\n`,
    );
    expect(fs.existsSync(ourDb)).toBe(false);
  });
});
