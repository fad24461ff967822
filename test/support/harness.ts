import { afterEach, beforeEach } from "vitest";
import type { TestApp } from "./app-fixture.js";
import { type MockBotApi, startMockBotApi } from "./mock-bot-api.js";
import { makeTempDir } from "./temp-dir.js";

/** What {@link useHarness} gives each test: a fresh mock Bot API and temp dir, and the app it started. */
export type Harness = { api: MockBotApi; dir: string; app: TestApp | undefined };

/**
 * Registers vitest hooks that give every test of the file a fresh mock Bot API and temporary
 * directory, and afterwards stop the app the test put in `app`, close the mock and remove the dir.
 * Read the fields inside tests (they are replaced before each one).
 */
export function useHarness(): Harness {
  const harness = {} as Harness;
  let cleanup = () => {};
  beforeEach(async () => {
    harness.api = await startMockBotApi();
    const temp = makeTempDir();
    harness.dir = temp.dir;
    cleanup = temp.cleanup;
  });
  afterEach(async () => {
    await harness.app?.stop();
    harness.app = undefined;
    await harness.api.close();
    cleanup();
  });
  return harness;
}
