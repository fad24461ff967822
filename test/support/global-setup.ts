import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/**
 * Where the bundles go: two levels below the package root, like src/db and dist/db, so that paths
 * the code resolves from its own location (`../../drizzle`, the migrations) still point at the root.
 */
export const BUNDLE_DIR = path.join(ROOT, "node_modules/.tg-acp-test");

/** Entry points tests run as processes, by bundle name. */
const ENTRIES = {
  "test-agent": "test/support/test-agent.ts",
  main: "src/main.ts",
  chat: "src/cli/chat.ts",
  doctor: "src/cli/doctor.ts",
  webhook: "src/cli/webhook.ts",
  "import-kiroclaw": "src/cli/import-kiroclaw.ts",
  "gc-timeouts": "test/support/gc-timeouts.ts",
};

/**
 * Vitest global set-up: bundles what tests run as child processes (the subprocess test agent, the
 * bot's entry and the command-line entries) into plain ES modules (packages stay imports from
 * node_modules), so each spawn is a `node` start of a fraction of a second instead of a tsx compile
 * of the whole tree, and points the tests at them (TG_ACP_TEST_BUNDLES).
 */
export default async function setup(): Promise<void> {
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRIES).map(([name, file]) => [name, path.join(ROOT, file)]),
    ),
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    outdir: BUNDLE_DIR,
    outExtension: { ".js": ".mjs" },
    logLevel: "error",
  });
  process.env.TG_ACP_TEST_BUNDLES = BUNDLE_DIR;
}
