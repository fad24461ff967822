/**
 * Installs pinned versions of the real ACP agents from the npm registry into a cache directory
 * outside the repository, once: `<cache>/<package name with / as +>@<version>`, where `<cache>` is
 * `TG_ACP_AGENT_CACHE` or `~/.cache/tg-acp/agents`. A finished install leaves a marker file; a later
 * call with the same lockfile returns at once.
 *
 * Each package has a lockfile committed beside this file (`lockfiles/<name>@<version>.json`, made by
 * `npm install` here and refreshed with `tsx test/agents/install.ts --relock NAME`), so the whole
 * dependency tree is pinned, not only the top package: `npm ci` installs exactly that tree. Only the
 * npm registry is used. Install scripts run as in a user's install: of the pinned agents only
 * gemini-cli has any (optional deps: @github/keytar copies a prebuilt binary it ships, node-pty 1.0.0
 * compiles with node-gyp against the local Node headers); none downloads anything.
 *
 * Run directly: `tsx test/agents/install.ts [NAME...]` installs the named agents (default all) and
 * prints one line per agent.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One agent package the suite installs. `bin` is its executable under node_modules/.bin. */
export type AgentPackage = { name: string; version: string; bin: string };

/** The pinned agent packages, by the short name the suite uses. */
export const AGENT_PACKAGES = {
  "codex-acp": { name: "@agentclientprotocol/codex-acp", version: "2.6.0", bin: "codex-acp" },
  "claude-agent-acp": {
    name: "@agentclientprotocol/claude-agent-acp",
    version: "0.101.0",
    bin: "claude-agent-acp",
  },
  gemini: { name: "@google/gemini-cli", version: "0.61.0", bin: "gemini" },
  "zed-codex-acp": { name: "@zed-industries/codex-acp", version: "0.16.0", bin: "codex-acp" },
} as const satisfies Record<string, AgentPackage>;

export type AgentId = keyof typeof AGENT_PACKAGES;

/** An install that failed; `message` is one line naming the package. */
export class AgentInstallError extends Error {
  override name = "AgentInstallError";
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOCKFILES = path.join(HERE, "lockfiles");
const MARKER = ".tg-acp-installed.json";
/** npm gets this long, unless TG_ACP_AGENT_INSTALL_TIMEOUT_MS says otherwise. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export function agentCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.TG_ACP_AGENT_CACHE || path.join(os.homedir(), ".cache", "tg-acp", "agents");
}

const spec = (pkg: AgentPackage) => `${pkg.name}@${pkg.version}`;
const dirName = (pkg: AgentPackage) => `${pkg.name.replace(/^@/, "").replace("/", "+")}@${pkg.version}`;

export function lockfileOf(pkg: AgentPackage): string {
  return path.join(LOCKFILES, `${dirName(pkg)}.json`);
}

function manifestOf(pkg: AgentPackage): string {
  return `${JSON.stringify({ name: "tg-acp-agent", private: true, dependencies: { [pkg.name]: pkg.version } }, null, 2)}\n`;
}

/** Where an installed agent lives. */
export type InstalledAgent = {
  pkg: AgentPackage;
  dir: string;
  binPath: string;
  tookMs: number;
  cached: boolean;
};

/** The install directory and executable of `pkg` (whether installed or not). */
export function installPaths(pkg: AgentPackage, env: NodeJS.ProcessEnv = process.env) {
  const dir = path.join(agentCacheRoot(env), dirName(pkg));
  return { dir, binPath: path.join(dir, "node_modules", ".bin", pkg.bin) };
}

function lockHash(pkg: AgentPackage): string | undefined {
  const file = lockfileOf(pkg);
  if (!fs.existsSync(file)) return undefined;
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex").slice(0, 16);
}

function isComplete(dir: string, binPath: string, hash: string | undefined): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER), "utf8")) as { lockHash?: string };
    return marker.lockHash === hash && fs.existsSync(binPath);
  } catch {
    return false;
  }
}

/** Runs npm in `cwd` with a time limit; resolves with its output, rejects with one line. */
function runNpm(pkg: AgentPackage, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", args, {
      cwd,
      env: {
        ...process.env,
        npm_config_update_notifier: "false",
        npm_config_fund: "false",
        npm_config_audit: "false",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      output += s;
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      output += s;
    });
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
      reject(
        new AgentInstallError(`cannot install ${spec(pkg)}: npm ${args[0]} took longer than ${timeoutMs} ms`),
      );
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new AgentInstallError(`cannot install ${spec(pkg)}: ${error.message}`));
    });
    child.once("close", (exitCode) => {
      clearTimeout(timer);
      if (exitCode === 0) return resolve(output);
      const errors = output
        .split("\n")
        .filter((line) => /^npm (error|ERR!)/.test(line))
        .map((line) => line.replace(/^npm (error|ERR!)\s*/, "").trim())
        .filter((line) => line !== "" && !/complete log of this run/.test(line));
      const code = errors.find((l) => l.startsWith("code "))?.slice(5);
      const detail = errors.find((l) => !l.startsWith("code ")) ?? `exit code ${exitCode}`;
      const why = `${code ? `${code}: ` : ""}${detail}`;
      reject(new AgentInstallError(`cannot install ${spec(pkg)}: npm ${args[0]} failed: ${why}`));
    });
  });
}

/**
 * Installs `pkg` into the cache unless a complete install is there, and returns where it is.
 * Installs into a temporary sibling directory and renames it into place, so an interrupted or
 * concurrent install never leaves a half-installed agent behind the marker.
 * @throws AgentInstallError with one line naming the package (npm failed, timed out or is missing).
 */
export async function installAgent(
  pkg: AgentPackage,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<InstalledAgent> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? (Number(env.TG_ACP_AGENT_INSTALL_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS);
  const { dir, binPath } = installPaths(pkg, env);
  const hash = lockHash(pkg);
  const started = Date.now();
  if (isComplete(dir, binPath, hash)) return { pkg, dir, binPath, tookMs: 0, cached: true };

  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const work = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  try {
    fs.writeFileSync(path.join(work, "package.json"), manifestOf(pkg));
    if (hash) {
      fs.copyFileSync(lockfileOf(pkg), path.join(work, "package-lock.json"));
      await runNpm(pkg, ["ci", "--no-audit", "--no-fund"], work, timeoutMs);
    } else {
      await runNpm(pkg, ["install", "--no-audit", "--no-fund", "--save-exact"], work, timeoutMs);
    }
    const workBin = path.join(work, "node_modules", ".bin", pkg.bin);
    if (!fs.existsSync(workBin)) {
      throw new AgentInstallError(
        `cannot install ${spec(pkg)}: npm finished but node_modules/.bin/${pkg.bin} is missing`,
      );
    }
    fs.writeFileSync(
      path.join(work, MARKER),
      `${JSON.stringify({ package: pkg.name, version: pkg.version, lockHash: hash, installedAt: new Date().toISOString() })}\n`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.renameSync(work, dir);
    } catch (error) {
      // Another process finished the same install first: use its copy.
      if (!isComplete(dir, binPath, hash)) throw error;
    }
  } catch (error) {
    fs.rmSync(work, { recursive: true, force: true });
    if (error instanceof AgentInstallError) throw error;
    throw new AgentInstallError(
      `cannot install ${spec(pkg)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { pkg, dir, binPath, tookMs: Date.now() - started, cached: false };
}

/** Installs `pkg` afresh (npm install, no lockfile) and writes its lockfile beside this file. */
export async function relock(pkg: AgentPackage): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-relock-"));
  try {
    fs.writeFileSync(path.join(work, "package.json"), manifestOf(pkg));
    await runNpm(
      pkg,
      ["install", "--no-audit", "--no-fund", "--package-lock-only"],
      work,
      DEFAULT_TIMEOUT_MS,
    );
    fs.mkdirSync(LOCKFILES, { recursive: true });
    fs.copyFileSync(path.join(work, "package-lock.json"), lockfileOf(pkg));
    return lockfileOf(pkg);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const relocking = argv[0] === "--relock";
  const names = (relocking ? argv.slice(1) : argv) as AgentId[];
  const ids = names.length > 0 ? names : (Object.keys(AGENT_PACKAGES) as AgentId[]);
  let failed = 0;
  for (const id of ids) {
    const pkg: AgentPackage | undefined = AGENT_PACKAGES[id];
    if (!pkg) {
      console.error(`unknown agent ${id}; known: ${Object.keys(AGENT_PACKAGES).join(", ")}`);
      failed++;
      continue;
    }
    try {
      if (relocking) {
        console.log(`${id}: wrote ${path.relative(process.cwd(), await relock(pkg))}`);
      } else {
        const installed = await installAgent(pkg);
        console.log(
          `${id}: ${installed.cached ? "cached" : `installed in ${installed.tookMs} ms`} at ${installed.dir}`,
        );
      }
    } catch (error) {
      console.error(error instanceof Error ? error.message : String(error));
      failed++;
    }
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
