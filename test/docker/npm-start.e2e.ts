/**
 * A restart outside Docker: `npm start` compiles only when a source changed since the last build
 * (prestart: `tsc -b`), so with nothing changed /healthz answers within 1.5 s of `npm start`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { run } from "../../scripts/docker/run.js";
import { type MockBotApi, startMockBotApi } from "../support/mock-bot-api.js";
import { recordFigure } from "./figures.js";
import { freePort } from "./free-port.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const { figuresFile } = inject("docker");

/** Runs `npm start` until /healthz answers; resolves with the time that took, ms. Stops the bot after. */
async function timeNpmStart(env: Record<string, string>, port: number): Promise<number> {
  const started = performance.now();
  const child = spawn("npm", ["start"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    log += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    log += chunk;
  });
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return performance.now() - started;
      if (exited || performance.now() - started > 60_000) throw new Error(`npm start did not serve:\n${log}`);
      await sleep(10);
    }
  } finally {
    // npm, its shell and the bot share one process group; wait until all of it is gone.
    const group = child.pid ?? 0;
    const alive = () => {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (alive()) process.kill(-group, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (alive() && Date.now() < deadline) await sleep(20);
    if (alive()) process.kill(-group, "SIGKILL");
  }
}

describe("npm start with nothing changed since the last build", () => {
  let api: MockBotApi;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-npm-start-"));
  beforeAll(async () => {
    api = await startMockBotApi();
    await run(["npm", "run", "build"], { cwd: ROOT });
  });
  afterAll(async () => {
    await api?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves /healthz within 1.5 s", async () => {
    const env = (port: number) => ({
      TELEGRAM_BOT_TOKEN: "7000000001:AAH-npm-start-test-0123456789abcdef",
      TELEGRAM_WEBHOOK_SECRET: "npm-start-secret",
      TELEGRAM_API_ROOT: api.url,
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_PATH: path.join(dir, "tg-acp.db"),
      WORKSPACE_BASE_PATH: path.join(dir, "workspaces"),
      ACP_AGENT_COMMAND: "node",
      ALLOWED_USER_IDS: "1",
      LOG_LEVEL: "warn",
      AGENT_WARM_SPARES: "0",
    });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      times.push(await timeNpmStart(env(port), port));
    }
    const sorted = [...times].sort((a, b) => a - b);
    recordFigure(figuresFile, {
      name: "npm start -> healthz, nothing changed",
      value: `${Math.round(sorted[1] ?? 0)} ms`,
      note: `median of 3: ${times.map((t) => `${Math.round(t)} ms`).join(", ")}`,
    });
    expect(sorted[1]).toBeLessThan(1_500);
  });
});
