/**
 * scripts/build-if-stale.mjs (npm start's prestart), on a one-file project of its own: it compiles when
 * there is no build, when a source or a tsconfig changed, when a file was added or removed, and when
 * the last build had errors; otherwise it starts no compiler.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "./support/temp-dir.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * A one-file project of its own in a fresh temporary directory, with the script, a symlink to
 * typescript, tsconfig.json, tsconfig.build.json and src/a.ts; and the helpers to drive it.
 */
function makeProject() {
  const temp = makeTempDir();
  const file = (name: string) => path.join(temp.dir, name);
  const write = (name: string, text: string) => {
    fs.mkdirSync(path.dirname(file(name)), { recursive: true });
    fs.writeFileSync(file(name), text);
  };
  /**
   * Runs the script; `compiled` when it ran tsc (the build info was written again). Asynchronous, so
   * the test worker's event loop keeps answering vitest while tsc runs (a synchronous spawn blocked it
   * past vitest's 60 s RPC timeout on a loaded machine).
   */
  const prestart = async () => {
    const before = fs.statSync(file("dist/.tsbuildinfo"), { throwIfNoEntry: false })?.mtimeMs;
    const child = spawn(process.execPath, [file("scripts/build-if-stale.mjs")], { stdio: "pipe" });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    const after = fs.statSync(file("dist/.tsbuildinfo"), { throwIfNoEntry: false })?.mtimeMs;
    return { code, output, compiled: after !== before };
  };
  /** Sets a file's times `secondsAgo` in the past, so that "changed since the build" is unambiguous. */
  const age = (name: string, secondsAgo: number) => {
    const when = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(file(name), when, when);
  };

  fs.mkdirSync(file("scripts"));
  fs.copyFileSync(path.join(ROOT, "scripts/build-if-stale.mjs"), file("scripts/build-if-stale.mjs"));
  fs.mkdirSync(file("node_modules"));
  fs.symlinkSync(path.join(ROOT, "node_modules/typescript"), file("node_modules/typescript"));
  write(
    "tsconfig.json",
    // lib without the DOM: tsc parses ~1 s of declarations less per run (3.1 s -> 1.1 s idle).
    JSON.stringify({
      compilerOptions: { module: "NodeNext", target: "ES2022", lib: ["ES2022"], strict: true, types: [] },
    }),
  );
  write(
    "tsconfig.build.json",
    JSON.stringify({
      extends: "./tsconfig.json",
      compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" },
      include: ["src"],
    }),
  );
  write("src/a.ts", "export const a: number = 1;\n");
  return { file, write, prestart, age, cleanup: temp.cleanup };
}

let projects: ReturnType<typeof makeProject>[] = [];
/** A fresh project for the calling test, removed after the file's tests. */
const project = () => {
  const made = makeProject();
  projects.push(made);
  return made;
};
afterAll(() => {
  for (const made of projects) made.cleanup();
  projects = [];
});

// Each compile starts tsc (~1 s idle, far more on a loaded machine). Each test has its own project,
// so they run concurrently: the file's time is its longest test's, not the sum.
describe.concurrent("build-if-stale", { timeout: 120_000 }, () => {
  it("compiles when there is no build, then not again while nothing changed", async () => {
    const { file, prestart } = project();
    expect(await prestart()).toMatchObject({ code: 0, compiled: true });
    expect(fs.existsSync(file("dist/a.js"))).toBe(true);
    expect(await prestart()).toMatchObject({ code: 0, compiled: false });
  });

  it("compiles when a source, a directory of sources or a tsconfig changed since the build", async () => {
    const { file, write, prestart, age } = project();
    for (const name of ["src/a.ts", "src", "tsconfig.json"]) age(name, 60);
    await prestart();
    write("src/a.ts", "export const a: number = 2;\n");
    expect(await prestart()).toMatchObject({ code: 0, compiled: true });
    expect(fs.readFileSync(file("dist/a.js"), "utf8")).toContain("= 2");

    write("src/lib/b.ts", "export const b = 1;\n");
    expect(await prestart()).toMatchObject({ code: 0, compiled: true });
    expect(fs.existsSync(file("dist/lib/b.js"))).toBe(true);

    fs.writeFileSync(file("tsconfig.json"), fs.readFileSync(file("tsconfig.json")));
    expect((await prestart()).compiled).toBe(true);
  });

  it("compiles again after a build with errors, and fails as tsc does", async () => {
    const { write, prestart } = project();
    write("src/a.ts", "export const a: number = 'one';\n");
    const first = await prestart();
    expect(first.code).not.toBe(0);
    expect(first.output).toContain("TS2322");
    const second = await prestart();
    expect(second.code).not.toBe(0);
    expect(second.output).toContain("TS2322");
  });
});
