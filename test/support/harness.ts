import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { PROGRESS_HEADER } from "../../src/telegram/progress-message.js";
import { type AgentMode, startTestApp, type TestApp } from "./app-fixture.js";
import { type BotApiCall, type MockBotApi, startMockBotApi } from "./mock-bot-api.js";
import { makeTempDir } from "./temp-dir.js";
import { readAgentEvents } from "./test-agent-command.js";

/**
 * Per-test mock Bot API, temporary directory and (on demand) app, torn down after each test.
 * Call at the top of a test file; use the returned accessors inside tests.
 */
export function useBotHarness() {
  let api: MockBotApi;
  let temp: ReturnType<typeof makeTempDir>;
  let app: TestApp | undefined;

  beforeEach(async () => {
    api = await startMockBotApi();
    temp = makeTempDir();
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await api.close();
    temp.cleanup();
  });

  const harness = {
    get api() {
      return api;
    },
    get dir() {
      return temp.dir;
    },
    /** Starts the app against this test's mock and directory. */
    async start(
      options: { agentFlags?: string[]; agent?: AgentMode; env?: Record<string, string> } = {},
    ): Promise<TestApp> {
      app = await startTestApp({ apiRoot: api.url, dir: temp.dir, ...options });
      return app;
    },
    /** The test agent's event log. */
    agentEvents: () => readAgentEvents(path.join(temp.dir, "agent")),
    /** sendMessage calls into one topic (message_thread_id), in order. */
    sentIn: (threadId: number | undefined): BotApiCall[] =>
      api.callsOf("sendMessage").filter((c) => c.payload.message_thread_id === threadId),
    /**
     * What the user sees in one topic: the latest text of each message (after edits), in order,
     * without the progress message (tool calls, plan).
     */
    textsIn: (threadId: number | undefined, chatId?: number): string[] =>
      api
        .messagesIn(threadId, chatId)
        .map((m) => m.text)
        .filter((text) => !text.startsWith(PROGRESS_HEADER)),
    /** Waits until a message in `threadId` shows text matching `pattern`; returns that text. */
    async waitForText(threadId: number | undefined, pattern: RegExp, timeoutMs?: number): Promise<string> {
      let found: string | undefined;
      await api.until(() => {
        found = harness.textsIn(threadId).find((text) => pattern.test(text));
        return found !== undefined;
      }, timeoutMs);
      return found as string;
    },
  };
  return harness;
}
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
