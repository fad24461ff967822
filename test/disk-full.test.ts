import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
let mounted: string | undefined;

/** Mounts a tmpfs of `size` (e.g. "4M") under the test's directory; the database goes there. */
function mountSmallDisk(size: string): string {
  const dir = path.join(h.dir, "small-disk");
  fs.mkdirSync(dir);
  // Needs root (CI and these machines run as root): the test fails loudly otherwise.
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  mounted = dir;
  return dir;
}

/** Writes a filler file until the disk is full. */
function fill(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "w");
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

afterEach(() => {
  if (mounted) execFileSync("umount", ["-l", mounted]);
  mounted = undefined;
});

describe("a full disk under the database", () => {
  it("answers 503 while the store cannot write, tells a running turn once, reports it in /healthz, and recovers", async () => {
    const disk = mountSmallDisk("4M");
    // No joining of long messages: each of the large prompts below is a turn of its own.
    const bot = await h.start({
      env: { DATABASE_PATH: path.join(disk, "tg-acp.db"), INPUT_DEBOUNCE_MS: "0" },
    });
    await bot.postUpdate(topicTextUpdate("sleep 3000", { threadId: 1 }));
    await h.api.until(() => h.agentEvents().some((e) => e.event === "prompt-start"));
    const filler = fill(disk);

    // Every Update gets 200 only once it is journalled: post until the disk refuses one.
    const acknowledged: string[] = [];
    let refused: ReturnType<typeof topicTextUpdate> | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const update = topicTextUpdate(`message ${i} ${"x".repeat(20_000)}`, { threadId: 2 });
      const status = await bot.postUpdate(update);
      if (status === 503) refused = update;
      else acknowledged.push(`message ${i}`);
    }
    expect(refused).toBeDefined();
    expect(await bot.postUpdate(topicTextUpdate("while full", { threadId: 3 }))).toBe(503);
    const health = await fetch(`${bot.baseUrl}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { reason: string }).reason).toMatch(
      /the disk of DATABASE_PATH .* is full/,
    );
    expect(bot.logLines.some((l) => /cannot be written/.test(l) && /is full/.test(l))).toBe(true);
    await h.waitForText(1, /cannot write its database/);

    // Space returns: the bot finds out by itself, and the refused Update, sent again, is answered.
    fs.rmSync(filler);
    await h.api.until(() => bot.logLines.some((l) => l.includes("can be written again")), 20_000);
    expect((await fetch(`${bot.baseUrl}/healthz`)).status).toBe(200);
    expect(await bot.postUpdate(refused as NonNullable<typeof refused>)).toBe(200);
    await bot.app.idle();
    const answered = h.textsIn(2).join("\n");
    for (const prompt of acknowledged) expect(answered).toContain(`echo: ${prompt}`);
    expect(answered).toContain(
      `echo: ${String((refused as NonNullable<typeof refused>).message.text).slice(0, 40)}`,
    );
    expect(h.textsIn(1).filter((t) => /cannot write its database/.test(t))).toHaveLength(1);
    expect(bot.fatalErrors).toEqual([]);
  });

  it("refuses to start on a disk already full, with one line naming the database", async () => {
    const disk = mountSmallDisk("4M");
    const first = await h.start({ env: { DATABASE_PATH: path.join(disk, "tg-acp.db") } });
    await first.stop();
    fill(disk);
    await expect(h.start({ env: { DATABASE_PATH: path.join(disk, "tg-acp.db") } })).rejects.toThrow(
      /^DATABASE_PATH .*tg-acp\.db cannot be (opened|migrated): [^\n]+$/,
    );
  });
});
