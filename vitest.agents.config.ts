import { defineConfig } from "vitest/config";

/**
 * The real-agents suite (`npm run test:agents`): installs the pinned agents (cached outside the
 * repo, see test/agents/install.ts) and runs them offline against the fake model. One file per
 * agent, one at a time: the agents are heavy (250-450 MiB, several processes) and the figures some
 * tests check are timings.
 */
export default defineConfig({
  test: {
    include: ["test/agents/**/*.agents.test.ts"],
    // The bot-level files run the bot's entry as a process: bundled once, like in `npm test`.
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 180_000,
    // beforeAll installs the agent: npm ci of up to ~450 MB on a cold cache.
    hookTimeout: 15 * 60_000,
    env: { TG_ACP_REAL_AGENTS: "1" },
  },
});
