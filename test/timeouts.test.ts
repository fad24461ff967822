import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { entryArgs } from "./support/entry.js";

/** Runs test/support/gc-timeouts.ts under `node --expose-gc` and returns its JSON lines. */
async function runUnderGc(): Promise<Array<{ name: string; fired: boolean; ms?: number; error?: string }>> {
  const child = spawn(
    process.execPath,
    ["--expose-gc", ...entryArgs("gc-timeouts", "test/support/gc-timeouts.ts")],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  await new Promise((resolve) => child.once("exit", resolve));
  return out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

describe("timeouts under garbage collection", () => {
  it("fires a 1.5 s set-up deadline and transcription timeout while a full GC runs every 100 ms", async () => {
    const results = await runUnderGc();
    expect(results.map((r) => [r.name, r.fired])).toEqual([
      ["withDeadline", true],
      ["initialize", true],
      ["transcription", true],
    ]);
    for (const result of results) expect(result.ms).toBeGreaterThanOrEqual(1_500);
    expect(results[1]?.error).toBe("initialize timed out");
    expect(results[2]?.error).toBe("voice.ogg could not be transcribed (no transcript within 1500 ms)");
  });
});
