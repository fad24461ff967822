import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX_LOADER = path.join(ROOT, "node_modules/tsx/dist/loader.mjs");

/**
 * The node arguments that run one of the project's entry points (`bundle`: test-agent, main, chat,
 * doctor, webhook; `source`: its TypeScript file): the bundle the vitest global set-up built
 * (TG_ACP_TEST_BUNDLES), else the source through tsx (benchmarks and scripts run outside vitest).
 */
export function entryArgs(bundle: string, source: string): string[] {
  const dir = process.env.TG_ACP_TEST_BUNDLES;
  return dir ? [path.join(dir, `${bundle}.mjs`)] : ["--import", TSX_LOADER, path.join(ROOT, source)];
}
