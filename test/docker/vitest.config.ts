import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run test:docker`: the container tests (test/docker/*.e2e.ts) under a real Docker engine, one
 * file at a time; `npm test` does not include them.
 */
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/docker/**/*.e2e.ts"],
    globalSetup: ["test/docker/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    reporters: ["verbose"],
  },
});
