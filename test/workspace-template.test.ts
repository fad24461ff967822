import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureWorkspace, templateDirProblem } from "../src/workspace.js";
import { startTestApp } from "./support/app-fixture.js";
import { type MockBotApi, startMockBotApi } from "./support/mock-bot-api.js";
import { makeTempDir } from "./support/temp-dir.js";
import { readAgentEvents } from "./support/test-agent-command.js";
import { topicTextUpdate } from "./support/updates.js";

let temp: ReturnType<typeof makeTempDir>;
let template: string;
beforeEach(() => {
  temp = makeTempDir();
  template = path.join(temp.dir, "template");
  fs.mkdirSync(path.join(template, ".kiro", "steering"), { recursive: true });
  fs.writeFileSync(path.join(template, "AGENTS.md"), "Answer briefly.\n");
  fs.writeFileSync(path.join(template, ".kiro", "steering", "style.md"), "Use TypeScript.\n");
});
afterEach(() => temp.cleanup());

const listing = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).sort();

describe("ensureWorkspace", () => {
  it("creates a missing workspace owner-only, with its parents, and copies nothing without a template", async () => {
    const dir = path.join(temp.dir, "ws", "-100", "7", "42");
    expect(await ensureWorkspace(dir)).toBe(dir);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("copies the template into a new workspace, and only into a new one", async () => {
    const dir = path.join(temp.dir, "ws", "-100", "7", "42");
    await ensureWorkspace(dir, template);
    expect(listing(dir)).toEqual([".kiro", ".kiro/steering", ".kiro/steering/style.md", "AGENTS.md"]);
    expect(fs.readFileSync(path.join(dir, "AGENTS.md"), "utf8")).toBe("Answer briefly.\n");
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

    // The agent's own changes survive: an existing workspace is never copied into again.
    fs.writeFileSync(path.join(dir, "AGENTS.md"), "edited by the agent\n");
    fs.rmSync(path.join(dir, ".kiro"), { recursive: true });
    await ensureWorkspace(dir, template);
    expect(listing(dir)).toEqual(["AGENTS.md"]);
    expect(fs.readFileSync(path.join(dir, "AGENTS.md"), "utf8")).toBe("edited by the agent\n");
    // No staging directory is left next to it.
    expect(fs.readdirSync(path.dirname(dir))).toEqual(["42"]);
  });

  it("leaves no half-made workspace when the template cannot be copied", async () => {
    const dir = path.join(temp.dir, "ws", "1", "0", "42");
    await expect(ensureWorkspace(dir, path.join(temp.dir, "missing"))).rejects.toThrow(/ENOENT/);
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
  });

  it("says in one line why a template directory cannot be used", () => {
    expect(templateDirProblem(template)).toBeUndefined();
    expect(templateDirProblem(path.join(temp.dir, "missing"))).toBe(
      `${path.join(temp.dir, "missing")} does not exist`,
    );
    const file = path.join(template, "AGENTS.md");
    expect(templateDirProblem(file)).toBe(`${file} is not a directory`);
  });
});

describe("WORKSPACE_TEMPLATE_DIR in the app", () => {
  let api: MockBotApi;
  beforeEach(async () => {
    api = await startMockBotApi();
  });
  afterEach(() => api.close());

  it("puts the template into a topic's new workspace before session/new", async () => {
    const app = await startTestApp({
      apiRoot: api.url,
      dir: temp.dir,
      env: { WORKSPACE_TEMPLATE_DIR: template },
    });
    await app.postUpdate(topicTextUpdate("hello", { threadId: 31 }));
    await api.waitFor((c) => c.method === "sendMessage" && c.payload.text === "echo: hello");
    await app.stop();
    const created = readAgentEvents(path.join(temp.dir, "agent")).filter((e) => e.event === "session/new");
    expect(created).toHaveLength(1);
    expect(created[0]?.files).toEqual([".kiro", "AGENTS.md"]);
  });

  it("fails start-up with one line when the template directory is missing", async () => {
    const missing = path.join(temp.dir, "no-template");
    const failing = startTestApp({
      apiRoot: api.url,
      dir: temp.dir,
      env: { WORKSPACE_TEMPLATE_DIR: missing },
    });
    await expect(failing).rejects.toThrow(`WORKSPACE_TEMPLATE_DIR ${missing} does not exist`);
    await expect(failing).rejects.toThrow(/^[^\n]*$/);
  });
});
