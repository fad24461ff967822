import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Two levels below the package root, like src/db, so the migrations folder resolves (see test/support/global-setup.ts). */
export const SCALE_BUNDLE_DIR = path.join(ROOT, "node_modules/.tg-acp-scale");

/** Bundles the scale test's process entry into a plain ES module (packages stay imports); sets TG_ACP_SCALE_BUNDLES. */
export default async function setup(): Promise<void> {
  await build({
    entryPoints: { "scale-bot": path.join(ROOT, "test/scale/scale-bot.ts") },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    outdir: SCALE_BUNDLE_DIR,
    outExtension: { ".js": ".mjs" },
    logLevel: "error",
  });
  process.env.TG_ACP_SCALE_BUNDLES = SCALE_BUNDLE_DIR;
}
