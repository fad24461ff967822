import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { openSqliteStore } from "../src/db/sqlite-store.js";
import { createLocalTurnQueue } from "../src/runner/local-turn-queue.js";
import { storeContract } from "./contracts/store-contract.js";
import { turnQueueContract } from "./contracts/turn-queue-contract.js";

storeContract("embedded SQLite", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-store-"));
  const file = path.join(dir, "store.db");
  const clock = { now: new Date("2026-01-01T00:00:00.000Z") };
  const open = () => openSqliteStore(file, { now: () => clock.now });
  let store = open();
  return {
    get store() {
      return store;
    },
    clock,
    async reopen() {
      await store.close();
      store = open();
      return store;
    },
    async cleanup() {
      await store.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

turnQueueContract("in-process", async (concurrency) =>
  createLocalTurnQueue({ concurrency, logger: pino({ level: "silent" }) }),
);
