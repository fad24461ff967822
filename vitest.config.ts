import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // Most tests wait on timers and sockets, not the CPU: more workers than cores keep both busy.
    poolOptions: { forks: { minForks: 1, maxForks: 4 } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
