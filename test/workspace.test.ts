import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureWorkspace, resolveInsideWorkspace, workspacePathFor } from "../src/workspace.js";
import { makeTempDir } from "./support/temp-dir.js";

let temp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

describe("workspaces", () => {
  it("puts each key's workspace under the base path, owner-only", async () => {
    const dir = workspacePathFor(temp.dir, { chatId: -1001234567890, threadId: 0, userId: 42 });
    expect(dir).toBe(path.join(temp.dir, "-1001234567890", "0", "42"));
    await ensureWorkspace(dir);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("refuses ids that could leave the base path", () => {
    for (const bad of [Number.NaN, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => workspacePathFor(temp.dir, { chatId: bad, threadId: 1, userId: 1 })).toThrow(
        /invalid topic key/,
      );
    }
  });

  it("resolves paths inside a workspace and refuses those outside, symlinks included", async () => {
    const ws = path.join(temp.dir, "ws");
    fs.mkdirSync(path.join(ws, "sub"), { recursive: true });
    fs.writeFileSync(path.join(ws, "sub", "a.txt"), "a");
    fs.writeFileSync(path.join(temp.dir, "secret.txt"), "s");
    fs.symlinkSync(path.join(temp.dir, "secret.txt"), path.join(ws, "link"));
    const real = fs.realpathSync(path.join(ws, "sub", "a.txt"));
    expect(await resolveInsideWorkspace(ws, "sub/a.txt")).toBe(real);
    expect(await resolveInsideWorkspace(ws, `file://${path.join(ws, "sub", "a.txt")}`)).toBe(real);
    expect(await resolveInsideWorkspace(ws, "../secret.txt")).toBeUndefined();
    expect(await resolveInsideWorkspace(ws, path.join(temp.dir, "secret.txt"))).toBeUndefined();
    expect(await resolveInsideWorkspace(ws, "link")).toBeUndefined();
    expect(await resolveInsideWorkspace(ws, "missing.txt")).toBeUndefined();
  });
});
