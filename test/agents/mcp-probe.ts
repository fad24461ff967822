import path from "node:path";
import { serve } from "@hono/node-server";
import pino from "pino";
import { openSqliteStore } from "../../src/db/sqlite-store.js";
import { createMcpEndpoint } from "../../src/mcp/mcp-endpoint.js";
import { createMcpTokens } from "../../src/mcp/mcp-tokens.js";
import { finish, type ProbeContext, startAgent } from "./probe.js";

/** The bot's tool names (a real agent may prefix them, e.g. `mcp__tg-acp__notify`). */
export const BOT_TOOLS = ["send_file", "ask_user", "notify", "schedule", "list_schedules", "cancel_schedule"];

/** What one real agent did with the bot's MCP server handed to it in session/new. */
export type McpFigures = {
  /** initialize's agentCapabilities.mcpCapabilities.http. */
  advertisesHttp: boolean;
  /** JSON-RPC methods the MCP endpoint was asked, in order (initialize, tools/list...). */
  methods: string[];
  /**
   * The bot's tools the agent offered the model on its first main request: in its tools, or named as
   * deferred tools it can load (Claude Code's ToolSearch).
   */
  offered: string[];
  /** What the bot's notify tool got when the fake model asked for a call of it. */
  notified: string[];
};

/**
 * Serves the bot's real MCP endpoint (tokens on a throw-away SQLite store, tools that only record)
 * on 127.0.0.1, starts the agent, hands the server to session/new as the bot does (type http,
 * Authorization: Bearer), prompts once and reports what reached the server and the model, then has
 * the fake model ask for a call of `notify` and reports what the tool got.
 */
export async function mcpToolsOffered(ctx: ProbeContext): Promise<McpFigures> {
  const store = openSqliteStore(path.join(ctx.root, "mcp.db"));
  const methods: string[] = [];
  const notified: string[] = [];
  let url = "";
  const tokens = createMcpTokens({ store, url: () => url });
  const handle = createMcpEndpoint({
    tokens,
    tools: {
      sendFile: async () => "not in this probe",
      ask: async () => undefined,
      notify: async (_key, text) => {
        notified.push(text);
      },
      schedules: {
        add: async () => Promise.reject(new Error("no")),
        list: async () => [],
        cancel: async () => "no",
      },
    },
    callsPerMinute: 100,
    version: "0.1.0",
    logger: pino({ level: "silent" }),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const listening = serve(
      {
        fetch: async (request) => {
          if (request.method === "POST") {
            const body = await request
              .clone()
              .json()
              .catch(() => ({}));
            for (const message of Array.isArray(body) ? body : [body]) {
              if (typeof message?.method === "string") methods.push(message.method);
            }
          }
          return handle(request);
        },
        hostname: "127.0.0.1",
        port: 0,
      },
      (info) => {
        url = `http://127.0.0.1:${info.port}/mcp`;
        resolve(listening);
      },
    );
  });
  const { agent, init } = await startAgent(ctx);
  try {
    const advertisesHttp = init.agentCapabilities?.mcpCapabilities?.http === true;
    const servers = await tokens.grant({ chatId: 1, threadId: 2, userId: 3 });
    const session = await agent.newSession(ctx.workspace, 60_000, advertisesHttp ? servers : []);
    const prompt = "Say hello, and use no tool.";
    await agent.prompt(session.sessionId, prompt);
    const call = ctx.model.completions().find((c) => c.userTurns.at(-1) === prompt && c.tools.length > 0);
    // Offered as tools (bare, `mcp__tg-acp__x` or Gemini's `mcp_tg-acp_x`), or named as deferred
    // tools in the request (Claude Code's ToolSearch).
    const body = JSON.stringify(call?.body ?? {});
    const offered = BOT_TOOLS.filter(
      (tool) =>
        call?.tools.some(
          (name) => name === tool || name.endsWith(`tg-acp__${tool}`) || name.endsWith(`tg-acp_${tool}`),
        ) || new RegExp(`mcp__tg-acp__${tool}\\b`).test(body),
    );
    // A model that asks for the tool: the call goes through the agent to the bot's server.
    await agent.prompt(session.sessionId, 'call tool notify {"text":"hello from the model"}');
    return { advertisesHttp, methods, offered, notified };
  } finally {
    await finish(agent);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  }
}
