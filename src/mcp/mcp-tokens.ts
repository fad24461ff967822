import { createHash, randomBytes } from "node:crypto";
import type { McpServer as AcpMcpServer } from "@agentclientprotocol/sdk";
import type { Store } from "../domain/store.js";
import type { TopicKey } from "../domain/topic-key.js";

/** Random bytes of one bearer token: 256 bits (the issue asks for at least 128). */
const TOKEN_BYTES = 32;
/** The name agents see for the bot's MCP server (ACP McpServer `name`). */
export const MCP_SERVER_NAME = "tg-acp";

/** SHA-256 hex of a bearer token: what the `mcp_tokens` table keeps. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * The bearer tokens of the bot's MCP server: one per agent session set-up of a topic key, random
 * (256 bits, base64url), stored hashed. Granting a key's session a token revokes the key's older
 * ones (the session was replaced); the runner revokes them when the session ends.
 */
export function createMcpTokens(deps: { store: Store; url: () => string }) {
  return {
    /**
     * A new token for `key`'s session as the ACP `mcpServers` entry of session/new, session/load or
     * session/resume (ACP "MCP Servers": type http, url, headers).
     *
     * @throws StoreUnavailableError when the token cannot be stored.
     */
    async grant(key: TopicKey): Promise<AcpMcpServer[]> {
      const token = randomBytes(TOKEN_BYTES).toString("base64url");
      await deps.store.revokeMcpTokens(key);
      await deps.store.saveMcpToken(tokenHash(token), key);
      return [
        {
          type: "http",
          name: MCP_SERVER_NAME,
          url: deps.url(),
          headers: [{ name: "Authorization", value: `Bearer ${token}` }],
        },
      ];
    },
    /** Revokes the key's tokens (its session ended). */
    revoke: (key: TopicKey): Promise<void> => deps.store.revokeMcpTokens(key),
    /** The key a bearer token was granted to, or undefined (unknown, revoked or malformed). */
    async keyOf(token: string): Promise<TopicKey | undefined> {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
      return deps.store.mcpTokenKey(tokenHash(token));
    },
  };
}

/** The MCP tokens; see {@link createMcpTokens}. */
export type McpTokens = ReturnType<typeof createMcpTokens>;
