// `npm start`'s prestart: compiles (tsc -b tsconfig.build.json) only when the last build is stale,
// so a restart with nothing changed costs ~70 ms here instead of the ~250-500 ms that loading tsc
// takes just to find the project up to date. Plain JavaScript: it runs before anything is compiled.
//
// Stale means: no dist/.tsbuildinfo, a build that had errors ("errors" in the build info, so they
// are reported again), or a file or directory under src/ (a directory's time changes when a file in it
// is added, removed or renamed) or a tsconfig newer than the build info. tsc -b then decides itself
// what to recompile.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const buildInfo = path.join(root, "dist/.tsbuildinfo");

function builtAt() {
  try {
    const info = JSON.parse(fs.readFileSync(buildInfo, "utf8"));
    return info.errors ? undefined : fs.statSync(buildInfo).mtimeMs;
  } catch {
    return undefined;
  }
}

/** True when `file`, or anything under it, changed after `time` (ms). */
function changedAfter(file, time) {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return false;
  if (stat.mtimeMs > time) return true;
  return stat.isDirectory() && fs.readdirSync(file).some((name) => changedAfter(path.join(file, name), time));
}

const time = builtAt();
const inputs = ["src", "tsconfig.json", "tsconfig.build.json"].map((name) => path.join(root, name));
if (time === undefined || inputs.some((input) => changedAfter(input, time))) {
  const tsc = path.join(root, "node_modules/typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "-b", path.join(root, "tsconfig.build.json")], {
    stdio: "inherit",
  });
  process.exit(result.status ?? 1);
}
