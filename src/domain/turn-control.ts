import type { AgentModels } from "./agent-models.js";
import type { TopicKey } from "./topic-key.js";

/**
 * A tap on a permission button (Bot API callback_query with data `p:<nonce>:<index>`) as it travels
 * from the web replica that received it to the worker whose turn posted the prompt: the query's
 * id (the worker answers it with answerCallbackQuery), its data, who tapped, and where the prompt
 * message is (its topic decides which worker is asked).
 */
export type PermissionTap = {
  callbackQueryId: string;
  data: string;
  from: { id: number; username?: string; firstName: string };
  chatId: number;
  /** The prompt message's forum topic (0 outside topics, as in TopicKey). */
  threadId: number;
};

/** What a worker says of a topic for /status (its running turn and the last one it finished). */
export type RemoteTopicStatus = {
  runningForMs: number | undefined;
  last: { stopReason: string; durationMs: number; finishedAt: string } | undefined;
};

/**
 * How a process that runs no turns (ROLE=web) acts on turns that run on workers: each call goes to
 * the worker holding the topic's shard (PostgreSQL LISTEN/NOTIFY; no direct connection between
 * machines). Each resolves with undefined when no worker answered in time (none holds the shard).
 */
export type TurnControl = {
  /** /cancel's part on the worker: its running turn cancelled, its queued ones dropped. */
  cancel(
    key: TopicKey,
  ): Promise<{ cancelledRunning: boolean; stoppedDelivery: boolean; dropped: number } | undefined>;
  /** /new: the worker lets go of the topic's kept-alive agent process; answered by nobody. */
  release(key: TopicKey): Promise<void>;
  /** /status: the running turn's age and the last finished turn, as the worker knows them. */
  status(key: TopicKey): Promise<RemoteTopicStatus | undefined>;
  /** /model: the models the agent offers, from any worker. */
  models(): Promise<{ models: AgentModels | undefined } | undefined>;
  /** A permission button tap: true once the worker holding the prompt took it (it answers the tap). */
  tap(tap: PermissionTap): Promise<boolean>;
};
