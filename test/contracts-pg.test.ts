import { openPgStore } from "../src/db/pg/pg-store.js";
import type { Store } from "../src/domain/store.js";
import { storeContract } from "./contracts/store-contract.js";
import { usePostgres } from "./support/use-postgres.js";

const pg = usePostgres();

pg.describe("PostgreSQL", () => {
  storeContract("PostgreSQL", async () => {
    const url = await pg.server().createDatabase();
    const clock = { now: new Date("2026-01-01T00:00:00.000Z") };
    const open = () => openPgStore(url, { now: () => clock.now, poolSize: 2 });
    let store: Store = await open();
    return {
      get store() {
        return store;
      },
      clock,
      async reopen() {
        await store.close();
        store = await open();
        return store;
      },
      async cleanup() {
        await store.close().catch(() => {});
      },
    };
  });
});
