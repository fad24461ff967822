import fs from "node:fs";
import path from "node:path";
import type { AcpClient } from "../acp/acp-client.js";
import type { AgentSessionInfo } from "../domain/agent-sessions.js";
import { UserFacingError } from "../domain/errors.js";
import type { Store } from "../domain/store.js";
import { type TopicKey, topicKeyId } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";

/**
 * The agent's own sessions as topics can take them (ACP session/list, session/fork, session/close):
 * listing them, adopting one into a topic (its cwd must lie under WORKSPACE_BASE_PATH or an
 * ADOPT_ROOTS directory), forking a topic's session into a new topic, and closing the sessions of a
 * closed forum topic (their workspaces stay). Each agent request runs in a process of its own.
 */
export function createAgentSessions(deps: {
  store: Store;
  /** Absent where no turn runs (ROLE=web): listing and forking are refused there. */
  acpClient: AcpClient | undefined;
  /** Ends the process kept alive for a key (a session was adopted). */
  release: (key: TopicKey) => void;
  workspaceBasePath: string;
  adoptRoots: readonly string[];
  logger: Logger;
}) {
  const { store, logger } = deps;
  const agent = (): AcpClient => {
    if (!deps.acpClient) throw new UserFacingError("this process runs no agent (ROLE=web)");
    return deps.acpClient;
  };
  const roots = () => [deps.workspaceBasePath, ...deps.adoptRoots].map((root) => realOrSelf(root));

  return {
    /**
     * The agent's sessions, or undefined when it offers no session/list.
     *
     * @throws AgentTurnError (a UserFacingError) when the agent cannot be started or fails.
     */
    agentSessions: async (): Promise<AgentSessionInfo[] | undefined> =>
      agent().listSessions(deps.workspaceBasePath),

    /**
     * Binds the agent's session to `key` with its own cwd as the workspace (the next turn resumes or
     * loads it). Returns a one-line refusal, changing nothing, when the cwd is not an existing
     * directory under the allowed roots.
     */
    async adoptSession(key: TopicKey, session: AgentSessionInfo): Promise<string | undefined> {
      const real = path.isAbsolute(session.cwd) ? realDirectory(session.cwd) : undefined;
      if (real === undefined) return `${session.cwd} is not a directory here; not adopted.`;
      if (!roots().some((root) => inside(root, real))) {
        return `${session.cwd} is outside WORKSPACE_BASE_PATH and ADOPT_ROOTS; not adopted.`;
      }
      await store.saveSession(key, session.sessionId, real);
      deps.release(key);
      return undefined;
    },

    /**
     * Forks the key's session (session/fork) into the topic `openTopic` creates, which gets the fork
     * with the same workspace. Returns the new topic's key, or a one-line refusal.
     *
     * @throws AgentTurnError when the agent cannot be started or fails; the error of `openTopic`.
     */
    async forkSession(key: TopicKey, openTopic: () => Promise<TopicKey>): Promise<TopicKey | string> {
      const row = await store.session(key);
      if (!row?.sessionId || !row.workspacePath) return "This topic has no session to fork yet.";
      const forked = await agent().forkSession(row.sessionId, row.workspacePath);
      if (forked === undefined) return "This agent cannot fork sessions (it offers no session/fork).";
      const target = await openTopic();
      await store.saveSession(target, forked, row.workspacePath);
      return target;
    },

    /**
     * A forum topic was closed: every user's session there is closed (session/close when the agent
     * offers it) and forgotten; the workspaces stay. Returns how many sessions were closed.
     */
    async topicClosed(chatId: number, threadId: number): Promise<number> {
      let closed = 0;
      for (const row of await store.topicSessions(chatId, threadId)) {
        if (!row.sessionId) continue;
        const key = { chatId, threadId, userId: row.userId };
        if (row.workspacePath && deps.acpClient) {
          await deps.acpClient
            .closeSession(row.sessionId, row.workspacePath, topicKeyId(key))
            .catch((err: unknown) => logger.warn({ err, sessionId: row.sessionId }, "session/close failed"));
        }
        await store.clearSession(key);
        closed += 1;
      }
      return closed;
    },
  };
}

/** The agent sessions; see {@link createAgentSessions}. */
export type AgentSessions = ReturnType<typeof createAgentSessions>;

function realOrSelf(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

function realDirectory(dir: string): string | undefined {
  try {
    const real = fs.realpathSync(dir);
    return fs.statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `dir` is `root` or lies below it. */
function inside(root: string, dir: string): boolean {
  const relative = path.relative(root, dir);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}
