import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The dependency rules of src/, read from the import lines of every module: a new import across a
 * boundary fails here. Paths are relative to src/; a rule names the modules a folder may import
 * (its own folder always) and the packages it must not.
 */
const SRC = fileURLToPath(new URL("../src/", import.meta.url));

type Rule = { internal: string[]; forbiddenPackages: string[] };
const SERVER_PACKAGES = ["telegraf", "hono", "@hono/node-server"];
const STORAGE_PACKAGES = ["drizzle-orm", "better-sqlite3"];
const RULES: Record<string, Rule> = {
  // Shared words: knows nothing of the bot's layers.
  "domain/": { internal: [], forbiddenPackages: [...SERVER_PACKAGES, ...STORAGE_PACKAGES] },
  // The ACP client: no chat, table or server.
  "acp/": {
    internal: ["domain/", "logger.ts"],
    forbiddenPackages: [...SERVER_PACKAGES, ...STORAGE_PACKAGES],
  },
  // The embedded store: no protocol, no chat.
  "db/": {
    internal: ["domain/", "logger.ts"],
    forbiddenPackages: ["@agentclientprotocol/sdk", ...SERVER_PACKAGES],
  },
  // The Postgres mode's turn queue (pg-boss, shard leases): no protocol, no chat, no embedded file.
  "cluster/": {
    internal: ["domain/", "db/pg/", "logger.ts"],
    forbiddenPackages: ["@agentclientprotocol/sdk", ...SERVER_PACKAGES, "better-sqlite3"],
  },
  // Speech-to-text over HTTP: no chat, protocol, table or server.
  "transcription/": {
    internal: ["domain/", "logger.ts"],
    forbiddenPackages: ["@agentclientprotocol/sdk", ...SERVER_PACKAGES, ...STORAGE_PACKAGES],
  },
  // The bot's MCP server: tokens on the Store, tools through an interface; no chat, table or server.
  "mcp/": {
    internal: ["domain/", "runner/types.ts", "logger.ts"],
    forbiddenPackages: [...SERVER_PACKAGES, ...STORAGE_PACKAGES],
  },
  // HTTP only acknowledges and dispatches.
  "http/": {
    internal: ["logger.ts", "operator-error.ts"],
    forbiddenPackages: ["telegraf", "@agentclientprotocol/sdk", ...STORAGE_PACKAGES],
  },
  // The core: wires store (through the domain's Store), workspace and ACP client; renders through TurnView.
  "runner/": {
    internal: ["domain/", "acp/", "logger.ts", "workspace.ts"],
    forbiddenPackages: [...SERVER_PACKAGES, ...STORAGE_PACKAGES],
  },
  // Telegram talks to the runner's interface, never to db/ or acp/.
  "telegram/": {
    internal: [
      "domain/",
      "runner/types.ts",
      "logger.ts",
      "config.ts",
      "redact.ts",
      "operator-error.ts",
      "workspace.ts",
    ],
    forbiddenPackages: [...STORAGE_PACKAGES],
  },
};
/** Modules that may touch the process (environment, signals, exit codes, stdio). */
const PROCESS_OWNERS = [/^main\.ts$/, /^cli\/(chat|doctor|webhook|import-kiroclaw|run-cli)\.ts$/];
/** process members any module may use: signalling agent process groups, and Node's own facts. */
const PROCESS_MEMBERS_ALLOWED = new Set(["kill", "pid", "execPath", "platform", "memoryUsage"]);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

type Import = { from: string; specifier: string; target: string | undefined };

/** Every `import ... from "x"`, `export ... from "x"` and `import("x")` of a module. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, "utf8");
  const from = path.relative(SRC, file);
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/^\s*import\s+"([^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1] as string);
  return specifiers.map((specifier) => ({
    from,
    specifier,
    target: specifier.startsWith(".")
      ? path.relative(SRC, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, ".ts")
      : undefined,
  }));
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const ruleOf = (module: string) => Object.entries(RULES).find(([folder]) => module.startsWith(folder));
const packageOf = (specifier: string) =>
  specifier.startsWith("@")
    ? specifier.split("/").slice(0, 2).join("/")
    : (specifier.split("/")[0] as string);

describe("the dependency rules of src/", () => {
  it("reads the imports of every module", () => {
    expect(files.length).toBeGreaterThan(40);
    expect(imports.some((i) => i.from === "app.ts" && i.target === "runner/runner.ts")).toBe(true);
  });

  it("keeps every folder to the modules and packages its rule allows", () => {
    const violations: string[] = [];
    for (const item of imports) {
      const found = ruleOf(item.from);
      if (!found) continue;
      const [folder, rule] = found;
      if (item.target !== undefined) {
        const allowed =
          item.target.startsWith(folder) ||
          rule.internal.some((target) =>
            target.endsWith("/") ? item.target?.startsWith(target) : item.target === target,
          );
        if (!allowed) violations.push(`${item.from} imports ${item.target}`);
      } else if (rule.forbiddenPackages.includes(packageOf(item.specifier))) {
        violations.push(`${item.from} imports the package ${item.specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("has no import cycles", () => {
    const graph = new Map<string, string[]>();
    for (const item of imports) {
      if (item.target === undefined) continue;
      graph.set(item.from, [...(graph.get(item.from) ?? []), item.target]);
    }
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (module: string, trail: string[]) => {
      if (state.get(module) === "done") return;
      if (state.get(module) === "visiting") {
        cycles.push([...trail.slice(trail.indexOf(module)), module].join(" -> "));
        return;
      }
      state.set(module, "visiting");
      for (const next of graph.get(module) ?? []) visit(next, [...trail, module]);
      state.set(module, "done");
    };
    for (const module of graph.keys()) visit(module, []);
    expect(cycles).toEqual([]);
  });

  it("lets only main.ts and the command-line entries touch the process", () => {
    const touches: string[] = [];
    for (const file of files) {
      const module = path.relative(SRC, file);
      if (PROCESS_OWNERS.some((owner) => owner.test(module))) continue;
      const code = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const match of code.matchAll(/(?<![\w$./-])process\.(\w+)/g)) {
        if (!PROCESS_MEMBERS_ALLOWED.has(match[1] as string)) touches.push(`${module}: process.${match[1]}`);
      }
    }
    expect(touches).toEqual([]);
  });

  it("keeps every module under 300 lines", () => {
    const long = files
      .map((file) => [path.relative(SRC, file), fs.readFileSync(file, "utf8").split("\n").length] as const)
      .filter(([, lines]) => lines > 300);
    expect(long).toEqual([]);
  });
});
