import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The Postgres suites (test/pg/) run here too, each file with its own server (usePostgres), beside
    // the others: they mostly wait on the server, so running them in parallel costs little wall time.
    // test/scale/ is npm run test:scale, the real agents npm run test:agents.
    exclude: [...configDefaults.exclude, "test/scale/**", "test/agents/**/*.agents.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    poolOptions: {
      forks: {
        // Most tests wait on timers and sockets, not the CPU: more workers than cores keep both busy.
        // minForks = maxForks: tinypool 1.1 (idleTimeout 0) stops a fork above minForks the moment it
        // has nothing queued, from a timer that does not catch; with isolate: false that fork's
        // teardown task was still pending when it was killed, and the rejection ended the run
        // ("Terminating worker thread", exit 1, no summary).
        minForks: 6,
        maxForks: 6,
        // One fork runs many files: a file's imports (src/, the SDKs) are loaded once per fork, not
        // once per file (collect went from ~62 s to ~20 s summed over the forks). No test file
        // changes process-wide state it does not restore.
        isolate: false,
      },
    },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
