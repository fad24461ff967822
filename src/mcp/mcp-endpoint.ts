import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import flexible from "rate-limiter-flexible";
import { topicKeyId } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import { MCP_SERVER_NAME, type McpTokens, tokenHash } from "./mcp-tokens.js";
import { registerTopicTools, type TopicTools } from "./mcp-tools.js";

/** Largest JSON-RPC body the MCP endpoint reads, bytes. */
const MAX_MCP_BODY_BYTES = 256 * 1024;

/**
 * The bot's MCP server over the Streamable HTTP transport (MCP spec 2025-06-18 "Transports", the
 * official SDK's web-standard transport, stateless: every POST is one JSON-RPC exchange answered as
 * JSON). Each request must carry `Authorization: Bearer <token>` of a live agent session (see
 * createMcpTokens): a missing, unknown or revoked token gets 401 with `WWW-Authenticate: Bearer`,
 * before any tool runs. The tools act on that token's topic key only; tool calls are limited to
 * `callsPerMinute` per token (rate-limiter-flexible, in memory), past which a call is a tool error.
 *
 * @returns the fetch-style handler the HTTP server mounts at MCP_PATH.
 */
export function createMcpEndpoint(deps: {
  tokens: McpTokens;
  tools: TopicTools;
  callsPerMinute: number;
  version: string;
  logger: Logger;
}): (request: Request) => Promise<Response> {
  const limiter = new flexible.RateLimiterMemory({ points: deps.callsPerMinute, duration: 60 });
  const unauthorized = (why: string) =>
    new Response(JSON.stringify({ error: why }), {
      status: 401,
      headers: { "content-type": "application/json", "www-authenticate": 'Bearer realm="tg-acp"' },
    });

  return async (request) => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (token === undefined) return unauthorized("a bearer token is required");
    const key = await deps.tokens.keyOf(token);
    if (!key) {
      deps.logger.info("MCP request with an unknown or revoked token refused");
      return unauthorized("this token is unknown or its session has ended");
    }
    const log = deps.logger.child({ topic: key });
    const bucket = tokenHash(token);
    const server = new McpServer({ name: MCP_SERVER_NAME, version: deps.version });
    registerTopicTools(
      server,
      key,
      deps.tools,
      async (tool) => {
        log.info({ tool }, "MCP tool call");
        try {
          await limiter.consume(bucket);
          return undefined;
        } catch {
          return `rate limit: at most ${deps.callsPerMinute} tool calls a minute (MCP_TOOL_CALLS_PER_MINUTE); try again later`;
        }
      },
      request.signal,
    );
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: MAX_MCP_BODY_BYTES,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request);
    } catch (err) {
      log.error({ err, session: topicKeyId(key) }, "MCP request failed");
      return new Response("internal error", { status: 500 });
    } finally {
      // Stateless: the exchange is over once its response is made (the JSON body is complete).
      void server.close().catch(() => {});
    }
  };
}
