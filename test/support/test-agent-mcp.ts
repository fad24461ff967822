/**
 * The test agent's MCP client (the official SDK's Client over Streamable HTTP): it connects to the
 * HTTP MCP servers a session was given in session/new, session/load or session/resume (ACP
 * "MCP Servers"), lists their tools and calls them, as a real agent does when its model asks.
 */
import type * as acp from "@agentclientprotocol/sdk";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";

/** An HTTP MCP server as ACP hands it over (type http). */
type HttpServer = Extract<acp.McpServer, { type: "http" }>;

/** Longest wait for one tool call (ask_user waits for a tap), ms. */
const CALL_TIMEOUT_MS = 120_000;

/** The first HTTP server of a session's `mcpServers`, or undefined. */
export function httpServerOf(servers: acp.McpServer[] | undefined): HttpServer | undefined {
  return servers?.find((server): server is HttpServer => "type" in server && server.type === "http");
}

/**
 * Connects an MCP client to `server`, runs `use`, and closes it. The SDK is imported on first use:
 * agents that never call a tool start as fast as before.
 */
async function withClient<T>(server: HttpServer, use: (client: Client) => Promise<T>): Promise<T> {
  const [{ Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
  ]);
  const headers = Object.fromEntries(server.headers.map((h) => [h.name, h.value]));
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
  const client = new Client({ name: "tg-acp-test-agent", version: "1.0.0" });
  await client.connect(transport);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/**
 * Runs the prompt commands `mcp list` (answers `tools: <names>`) and `mcp call <tool> <json args>`
 * (answers `tool <name>: <text>` or `tool error: <text>`; `mcp calls <n> <tool> <json>` calls it n
 * times and answers with the last result) against `server`; reports each call as an
 * ACP tool_call and its tool_call_update, as real agents report MCP tool calls. A refused
 * connection (401) answers `mcp refused: <message>`.
 */
export async function runMcpCommand(
  text: string,
  server: HttpServer | undefined,
  report: (update: acp.SessionUpdate) => Promise<void>,
): Promise<string> {
  if (!server) return "mcp: this session has no HTTP MCP server";
  const call = /^mcp call(?:s (\d+))? (\w+)(?:\s+([\s\S]+))?$/.exec(text);
  try {
    if (text === "mcp list") {
      const { tools } = await withClient(server, (client) => client.listTools());
      return `tools: ${tools.map((tool) => tool.name).join(", ")}`;
    }
    if (!call) return "mcp: unknown command";
    const times = Number(call[1] ?? 1);
    const name = call[2] as string;
    const args = call[3] ? (JSON.parse(call[3]) as Record<string, unknown>) : {};
    let answer = "";
    for (let i = 0; i < times; i += 1) answer = await callOnce(server, name, args, report);
    return answer;
  } catch (err) {
    return `mcp refused: ${(err as Error).message}`;
  }
}

/** One tools/call, reported as a tool_call and its update; answers with the result. */
async function callOnce(
  server: HttpServer,
  name: string,
  args: Record<string, unknown>,
  report: (update: acp.SessionUpdate) => Promise<void>,
): Promise<string> {
  const toolCallId = `mcp-${name}-${Date.now()}-${Math.random()}`;
  await report({
    sessionUpdate: "tool_call",
    toolCallId,
    title: `tg-acp: ${name}`,
    kind: "other",
    status: "in_progress",
  });
  const result = await withClient(server, (client) =>
    client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS }),
  );
  const content = (result.content as Array<{ type: string; text?: string }>)
    .map((block) => block.text ?? `[${block.type}]`)
    .join(" ");
  await report({
    sessionUpdate: "tool_call_update",
    toolCallId,
    status: result.isError ? "failed" : "completed",
  });
  return result.isError ? `tool error: ${content}` : `tool ${name}: ${content}`;
}
