import { defineConfig } from "vitest/config";

// The Postgres suites (test/pg/: a throw-away server per file), run by npm test after the others.
// They fail when PostgreSQL cannot start; TG_ACP_NO_POSTGRES=1 skips them.
export default defineConfig({
  test: {
    include: ["test/pg/**/*.test.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
