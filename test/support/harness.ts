import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { startTestApp, type TestApp } from "./app-fixture.js";
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
    async start(options: { agentFlags?: string[]; env?: Record<string, string> } = {}): Promise<TestApp> {
      app = await startTestApp({ apiRoot: api.url, dir: temp.dir, ...options });
      return app;
    },
    /** The test agent's event log. */
    agentEvents: () => readAgentEvents(path.join(temp.dir, "agent")),
    /** sendMessage calls into one topic (message_thread_id), in order. */
    sentIn: (threadId: number | undefined): BotApiCall[] =>
      api.callsOf("sendMessage").filter((c) => c.payload.message_thread_id === threadId),
    /** Texts of sendMessage calls into one topic, in order. */
    textsIn: (threadId: number | undefined): string[] =>
      harness.sentIn(threadId).map((c) => String(c.payload.text)),
    /** Waits for a sendMessage into `threadId` whose text matches. */
    waitForText: (threadId: number | undefined, pattern: RegExp, timeoutMs?: number) =>
      api.waitFor(
        (c) =>
          c.method === "sendMessage" &&
          c.payload.message_thread_id === threadId &&
          pattern.test(String(c.payload.text)),
        timeoutMs,
      ),
  };
  return harness;
}
