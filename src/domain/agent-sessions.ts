/** One of the agent's own sessions (ACP session/list SessionInfo): id, its cwd, title and last update (ISO 8601). */
export type AgentSessionInfo = { sessionId: string; cwd: string; title?: string; updatedAt?: string };
