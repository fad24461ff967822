import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { workspacePathFor } from "../src/workspace.js";
import { useBotHarness } from "./support/harness.js";
import type { BotApiCall } from "./support/mock-bot-api.js";
import { FIXTURE_CHAT_ID, FIXTURE_USER_ID, tapButton, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 4101;
const OTHER_USER = 444555666;
const MCP = ["--mcp-http", "--no-noise"];
const TOOLS = ["send_file", "ask_user", "notify", "schedule", "list_schedules", "cancel_schedule"];

type Server = { type: string; name: string; url: string; headers: Array<{ name: string; value: string }> };
const call = (tool: string, args: Record<string, unknown> = {}) => `mcp call ${tool} ${JSON.stringify(args)}`;
const start = (env: Record<string, string> = {}) =>
  h.start({ agentFlags: MCP, env: { ALLOWED_USER_IDS: `${FIXTURE_USER_ID},${OTHER_USER}`, ...env } });
/** The mcpServers of every session set-up the agent saw, in order. */
const serversSeen = () =>
  h
    .agentEvents()
    .filter((e) => ["session/new", "session/load", "session/resume"].includes(e.event as string))
    .map((e) => e.mcpServers as Server[]);
/** Sends one prompt in `thread` and resolves with the first new message that matches `answer`. */
async function ask(
  bot: Awaited<ReturnType<typeof start>>,
  text: string,
  answer: RegExp,
  thread = T,
): Promise<string> {
  const before = h.textsIn(thread).length;
  await bot.postUpdate(topicTextUpdate(text, { threadId: thread }));
  let found: string | undefined;
  await h.api.until(() => {
    found = h
      .textsIn(thread)
      .slice(before)
      .find((t) => answer.test(t));
    return found !== undefined;
  });
  return found as string;
}
const tap = (message: BotApiCall, label: string, userId?: number) => tapButton(message, label, T, userId);

describe("the bot's MCP server, through the webhook", () => {
  it("is handed to an agent with HTTP MCP in session/new and session/load, with a new token each time", async () => {
    const bot = await start();
    expect(await ask(bot, "mcp list", /^tools: /)).toBe(`tools: ${TOOLS.join(", ")}`);
    await ask(bot, "hello again", /^echo: hello again$/);
    const [first, second] = serversSeen();
    expect(first).toEqual([
      {
        type: "http",
        name: "tg-acp",
        url: `${bot.baseUrl}/mcp`,
        headers: [{ name: "Authorization", value: expect.stringMatching(/^Bearer [A-Za-z0-9_-]{43}$/) }],
      },
    ]);
    expect(h.agentEvents().filter((e) => e.event === "session/load")).toHaveLength(1);
    expect(second?.[0]?.headers[0]?.value).not.toBe(first?.[0]?.headers[0]?.value);
    // Tokens travel to the agent only: never into the log (debug level here).
    for (const servers of [first, second]) {
      const token = servers?.[0]?.headers[0]?.value.replace("Bearer ", "") as string;
      expect(bot.logLines.join("\n")).not.toContain(token);
    }
  });

  it("is handed to session/resume too", async () => {
    const bot = await h.start({ agentFlags: [...MCP, "--resume"] });
    await ask(bot, "hello", /^echo: hello$/);
    expect(await ask(bot, "mcp list", /^tools: /)).toBe(`tools: ${TOOLS.join(", ")}`);
    const resumed = h.agentEvents().find((e) => e.event === "session/resume");
    expect((resumed?.mcpServers as Server[] | undefined)?.map((s) => s.url)).toEqual([`${bot.baseUrl}/mcp`]);
  });

  it("gives an agent without HTTP MCP no servers, as before", async () => {
    const bot = await h.start({ agentFlags: ["--no-noise"] });
    await ask(bot, "mcp list", /^mcp: /);
    expect(serversSeen()).toEqual([[]]);
  });

  it("refuses a token whose session ended, another session's and none at all with 401", async () => {
    const bot = await start();
    await ask(bot, call("notify", { text: "first" }), /^tool notify: posted$/);
    const ended = serversSeen()[0]?.[0]?.headers[0]?.value as string;
    const post = (authorization?: string) =>
      fetch(`${bot.baseUrl}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
    for (const authorization of [ended, "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", undefined]) {
      const res = await post(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("notify posts one line in the topic and shows in the progress line", async () => {
    const bot = await start();
    await ask(bot, call("notify", { text: "halfway\nthere" }), /^tool notify: posted$/);
    expect(h.textsIn(T)).toContain("🔔 halfway there");
    await bot.app.idle();
    const progress = h.api
      .messagesIn(T)
      .map((m) => m.text)
      .find((text) => text.startsWith("⚙️ Progress"));
    expect(progress).toContain("tg-acp: notify");
  });

  it("send_file sends a workspace file with its caption and refuses a path outside", async () => {
    const bot = await start();
    const workspace = workspacePathFor(bot.config.workspaceBasePath, {
      chatId: FIXTURE_CHAT_ID,
      threadId: T,
      userId: FIXTURE_USER_ID,
    });
    fs.mkdirSync(workspace, { recursive: true });
    fs.writeFileSync(path.join(workspace, "report.txt"), "all green\n");
    await ask(bot, call("send_file", { path: "report.txt", caption: "the report" }), /^tool send_file: /);
    const [document] = h.api.callsOf("sendDocument");
    expect(document?.payload).toMatchObject({
      message_thread_id: T,
      caption: "the report",
      document: { filename: "report.txt", size: 10 },
    });
    expect(await ask(bot, call("send_file", { path: "/etc/hostname" }), /^tool error: /)).toBe(
      "tool error: 📎 /etc/hostname is not a file inside this topic's workspace.",
    );
    expect(h.api.callsOf("sendDocument")).toHaveLength(1);
  });

  it("ask_user shows buttons only its owner can answer and returns the choice", async () => {
    const bot = await start();
    await bot.postUpdate(
      topicTextUpdate(call("ask_user", { question: "Deploy now?", options: ["yes", "no"] }), { threadId: T }),
    );
    const question = await h.api.waitFor(
      (c) => c.method === "sendMessage" && c.payload.text === "❓ Deploy now?",
    );
    await bot.postUpdate(tap(question, "yes", OTHER_USER));
    await h.api.waitFor(
      (c) => c.method === "answerCallbackQuery" && String(c.payload.text).startsWith("Only the user"),
    );
    await bot.postUpdate(tap(question, "no"));
    expect(await h.waitForText(T, /^tool ask_user: /)).toBe("tool ask_user: no");
    await h.api.until(() => h.textsIn(T).includes("❓ Deploy now?\n→ no"));
  });

  it('ask_user returns "no answer" after the timeout', async () => {
    const bot = await start({ PERMISSION_TIMEOUT_MS: "300" });
    expect(
      await ask(bot, call("ask_user", { question: "Anyone?", options: ["me"] }), /^tool ask_user: /),
    ).toBe("tool ask_user: no answer");
  });

  it("schedule, list_schedules and cancel_schedule act on the topic; bad input stores nothing", async () => {
    const bot = await start({ SCHEDULES_PER_TOPIC: "2" });
    expect(
      await ask(bot, call("schedule", { prompt: "morning report", every: "0 9 * * *" }), /^tool schedule: /),
    ).toMatch(
      /^tool schedule: scheduled #1 next \d{4}-\d\d-\d\d 09:00 UTC, every "0 9 \* \* \*": morning report$/,
    );
    for (const [args, error] of [
      [{ prompt: "x", every: "* * * * *" }, /fires more often than every 5 min/],
      [{ prompt: "x", every: "61 * * * *" }, /does not parse/],
      [{ prompt: "x", at: "2020-01-01T00:00" }, /is in the past/],
      [{ prompt: "x", at: "in 1h", every: "0 9 * * *" }, /exactly one of "at" and "every"/],
      [{ prompt: " ", at: "in 1h" }, /prompt/],
    ] as const) {
      expect(await ask(bot, call("schedule", args), /^tool error: /)).toMatch(error);
    }
    await ask(bot, call("schedule", { prompt: "later", at: "in 3h" }), /^tool schedule: scheduled #2 /);
    await ask(bot, call("schedule", { prompt: "one too many", at: "in 4h" }), /SCHEDULES_PER_TOPIC/);
    const listed = await ask(bot, call("list_schedules"), /^tool list_schedules: /);
    // Soonest first: which of the two comes first depends on the time of day the test runs.
    expect(listed.replace("tool list_schedules: ", "").split("\n").sort()).toEqual([
      expect.stringMatching(/^#1 next .* UTC, every "0 9 \* \* \*": morning report$/),
      expect.stringMatching(/^#2 next .* UTC, once: later$/),
    ]);
    expect(await ask(bot, call("cancel_schedule", { id: 1 }), /^tool cancel_schedule: /)).toBe(
      "tool cancel_schedule: cancelled #1",
    );
    expect(await ask(bot, call("cancel_schedule", { id: 1 }), /^tool error: There is no/)).toBe(
      "tool error: There is no schedule #1 in this topic.",
    );
    expect(await ask(bot, call("list_schedules"), /^tool list_schedules: /, T + 1)).toBe(
      "tool list_schedules: no schedules",
    );
  });

  it("answers an unknown tool with a tool error, and limits tool calls per session", async () => {
    const bot = await start({ MCP_TOOL_CALLS_PER_MINUTE: "2" });
    expect(await ask(bot, call("format_disk"), /^tool error: /)).toMatch(/format_disk/);
    expect(await ask(bot, `mcp calls 3 notify {"text":"ping"}`, /^tool (error|notify): /)).toMatch(
      /^tool error: rate limit: at most 2 tool calls a minute/,
    );
    expect(h.textsIn(T).filter((text) => text === "🔔 ping")).toHaveLength(2);
  });
});
