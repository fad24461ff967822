import { afterAll, beforeAll, describe } from "vitest";
import { NO_POSTGRES_ENV, postgresSkipped, startPostgres, type ThrowAwayPostgres } from "./postgres.js";

/**
 * One throw-away PostgreSQL for the calling test file: started before its tests, stopped after.
 * When it cannot start, every test of the file fails with the one-line reason (no silent skip);
 * with TG_ACP_NO_POSTGRES=1 the Postgres suites are skipped instead, on purpose. Returns the
 * server getter and the `describe` to put the suites under.
 */
export function usePostgres(): { server: () => ThrowAwayPostgres; describe: typeof describe } {
  let server: ThrowAwayPostgres | undefined;
  let failure: Error | undefined;
  if (!postgresSkipped()) {
    beforeAll(async () => {
      try {
        server = await startPostgres();
      } catch (err) {
        failure = err as Error;
        throw err;
      }
    }, 90_000);
    afterAll(async () => {
      await server?.stop();
    });
  }
  return {
    server: () => {
      if (!server) throw failure ?? new Error("PostgreSQL was not started");
      return server;
    },
    describe: postgresSkipped() ? (describe.skip as typeof describe) : describe,
  };
}

export { NO_POSTGRES_ENV };
