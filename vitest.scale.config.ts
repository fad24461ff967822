import { defineConfig } from "vitest/config";

// npm run test:scale: the multi-process run of the Postgres mode (test/scale/), apart from npm test.
export default defineConfig({
  test: {
    include: ["test/scale/**/*.test.ts"],
    globalSetup: ["test/scale/global-setup.ts"],
    pool: "forks",
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
