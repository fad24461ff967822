import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The Postgres suites run after these, on their own (vitest.pg.config.ts: a Postgres server per
    // file would slow the timing-sensitive subprocess tests here); test/scale/ is npm run test:scale,
    // the real agents npm run test:agents.
    exclude: [...configDefaults.exclude, "test/pg/**", "test/scale/**", "test/agents/**/*.agents.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // Most tests wait on timers and sockets, not the CPU: more workers than cores keep both busy.
    poolOptions: { forks: { minForks: 1, maxForks: 4 } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
