import type {
  ContentBlock,
  McpServer,
  RequestPermissionRequest,
  RequestPermissionResponse,
  SessionUpdate,
} from "@agentclientprotocol/sdk";
import type { AgentCommand } from "../domain/agent-commands.js";
import type { AgentModels } from "../domain/agent-models.js";
import type { AgentSessionInfo } from "../domain/agent-sessions.js";
import type { ScheduleRecord, ScheduleWhen } from "../domain/schedule.js";
import type { SessionSetting } from "../domain/session-settings.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { Attachment, PendingFile, SessionRecord, TurnResult, TurnUsage } from "../domain/turn.js";

/** How a turn ended, for the view. */
export type TurnOutcome =
  | { kind: "answered"; result: TurnResult }
  | { kind: "cancelled" }
  | { kind: "interrupted" }
  | { kind: "failed"; reason: string };

/**
 * How one turn shows in its topic. Implemented by the Telegram layer and made per turn by the
 * {@link TurnViews} factory the composition root hands the runner, so the runner never imports it.
 * `start` is called when the turn's agent starts; `finish` last. Methods must not throw: the view
 * logs its own delivery errors.
 */
export type TurnView = {
  /** The turn is running in `workspacePath` (show typing; files the agent links resolve there). */
  start(info: { workspacePath: string; turnId?: number }): void;
  /**
   * The prompt of turn `turnId` waits behind the topic's running turn (a "queued" note, with a way
   * to send it now: Runner.sendNow).
   */
  queued?(turnId: number): void;
  /** A live ACP session/update of this turn (text, tool calls, plan...). */
  update(update: SessionUpdate): void;
  /** A one-line notice (context not restored, tool refused, queued behind other turns...). */
  notice(line: string): Promise<void>;
  /**
   * Asks the user to answer a session/request_permission (ACP "Requesting Permission"); resolves
   * with the chosen option, or `cancelled` on timeout or when `signal` aborts. `forSession`: the
   * user allowed the tool kind for the rest of the session (the bot's own choice, offered when the
   * agent has no allow_always; the response selects allow_once).
   */
  askPermission(
    request: RequestPermissionRequest,
    signal: AbortSignal,
  ): Promise<RequestPermissionResponse & { forSession?: true }>;
  /**
   * The agent announced its slash commands (ACP available_commands_update): the chat's command menu
   * may show them.
   */
  agentCommands?(commands: AgentCommand[]): void;
  /** The agent named the session (ACP session_info_update): the forum topic may take the name. */
  title?(title: string): void;
  /** The turn is over; deliver the rest of the answer (resolves when it is delivered). */
  finish(outcome: TurnOutcome): Promise<void>;
  /**
   * /cancel or Stop while the answer is still being posted: no more of it is posted as messages;
   * the whole answer goes as one document instead.
   */
  stopDelivery(): void;
  /**
   * Shutdown: stop at once, posting nothing more; `finish` resolves. Returns whether part of the
   * answer was not delivered (the turn is then offered after the restart).
   */
  abandon(): boolean;
};

/**
 * Fetches a file the user sent into `workspace` when its turn runs (the Telegram layer: Bot API
 * getFile, then the download); `signal` aborts the download (cancel, shutdown).
 *
 * @throws UserFacingError when the file cannot be had (over the download limit...); another error
 *   when the download fails.
 */
export type FileFetcher = (file: PendingFile, workspace: string, signal: AbortSignal) => Promise<Attachment>;

/**
 * Speech-to-text for a voice note or audio file saved in the workspace (TRANSCRIBE_URL): resolves
 * with the transcript, trimmed ("" when no speech was heard); `signal` aborts it (cancel, shutdown).
 *
 * @throws UserFacingError, one line for the topic, when it fails or takes too long.
 */
export type Transcriber = (file: Attachment, signal: AbortSignal) => Promise<string>;

/**
 * How a voice note or audio file reaches the agent: as ACP `audio` blocks (the agent takes audio),
 * as its `transcript` (TRANSCRIBE_URL), not at all (`none`), or `unknown` until an agent has
 * answered initialize (then the turn decides).
 */
export type AudioRoute = "audio" | "transcript" | "none" | "unknown";

/** Makes the view of one turn of `key` (in its chat and forum topic, owned by its user). */
export type TurnViews = (key: TopicKey) => TurnView;

/** One prompt for the agent of a topic key, with the files that go with it. */
export type PromptJob = {
  key: TopicKey;
  prompt: ContentBlock[];
  attachments?: Attachment[];
  /** Files still on Telegram's side, fetched into the workspace when the turn runs. */
  files?: PendingFile[];
  /** The Update that carried the prompt (journalled; a second prompt of the same Update is dropped). */
  updateId?: number;
};

/** The last finished turn of a key, for /status. */
export type LastTurn = {
  stopReason: string;
  durationMs: number;
  finishedAt: Date;
  usage?: TurnUsage;
};

/** A key's state, for /status. */
export type TopicStatus = {
  sessionId: string | null;
  model: string;
  workspacePath: string;
  /** Running time of the current turn, ms; undefined when idle. */
  runningForMs: number | undefined;
  queued: number;
  last: LastTurn | undefined;
};

/** A key's settings (see {@link Runner.settings}). */
export type TopicSettings = { sessionId: string | null; settings: SessionSetting[] };

/**
 * What /cancel did: whether a running turn was told to stop, whether an answer still being posted
 * was stopped (the rest goes as a document), and how many queued prompts were dropped.
 */
export type CancelResult = { cancelledRunning: boolean; stoppedDelivery: boolean; dropped: number };

/**
 * What the Telegram layer may ask of the bot's core: submit prompts, act on a topic's running turn,
 * and read or change a topic's session settings. It never reaches the database or the agent itself.
 */
export type Runner = {
  /**
   * Journals the prompt and queues it behind the key's running and queued turns. Resolves once it is
   * journalled and queued (or dropped as a second delivery of its Update); `done` settles when the
   * turn is over (answered, cancelled, dropped or failed; failures are reported to the topic and
   * logged).
   *
   * @throws StoreUnavailableError when it cannot be journalled (nothing was queued).
   */
  accept(job: PromptJob): Promise<{ done: Promise<void> }>;
  /** {@link accept}, then resolves when the turn is over. */
  submit(job: PromptJob): Promise<void>;
  /** /cancel: cancels the key's running turn (session/cancel) and drops its queued prompts. */
  cancel(key: TopicKey): Promise<CancelResult>;
  /**
   * The agent's own sessions (ACP session/list); undefined when it offers no list.
   *
   * @throws UserFacingError when the agent cannot be started or fails.
   */
  agentSessions(): Promise<AgentSessionInfo[] | undefined>;
  /**
   * Binds one of the agent's sessions to the key, its cwd as the workspace (the next turn resumes
   * or loads it). Returns a one-line refusal (cwd outside WORKSPACE_BASE_PATH and ADOPT_ROOTS, or
   * missing); nothing changes then.
   */
  adoptSession(key: TopicKey, session: AgentSessionInfo): Promise<string | undefined>;
  /**
   * Forks the key's session (ACP session/fork) into the topic `openTopic` creates; returns its key,
   * or a one-line refusal (no session yet, the agent cannot fork).
   *
   * @throws UserFacingError when the agent cannot be started or fails; what `openTopic` throws.
   */
  forkSession(key: TopicKey, openTopic: () => Promise<TopicKey>): Promise<TopicKey | string>;
  /** A forum topic was closed: its sessions are closed (session/close when offered) and forgotten; workspaces stay. */
  topicClosed(chatId: number, threadId: number): Promise<number>;
  /** The ⏹ Stop button of turn `turnId`, tapped by `userId`: /cancel for its topic; the one-line answer. */
  stopTurn(turnId: number, userId: number): Promise<string>;
  /**
   * The ⏩ Send now button of queued turn `turnId`, tapped by `userId`: cancels the topic's running
   * turn so the queued prompts go next; the one-line answer.
   */
  sendNow(turnId: number, userId: number): Promise<string>;
  /**
   * Runs an interrupted turn's prompt again (the Retry button), as a new turn of the same key, by
   * `userId`. Returns why it cannot be retried, or undefined when it was queued.
   */
  retry(turnId: number, userId: number): Promise<string | undefined>;
  /**
   * The answer of a completed turn, for its own user (the 📄 button under an answer a shutdown cut):
   * the text, or why not.
   */
  answerOf(turnId: number, userId: number): Promise<{ text: string } | { refusal: string }>;
  /** /new: the key's next prompt starts a new ACP session (workspace and model stay). */
  resetSession(key: TopicKey): Promise<void>;
  /** The key's model choice ("auto" = the agent's default). */
  model(key: TopicKey): Promise<string>;
  /** Stores the key's model choice, applied after every session set-up from the next turn on. */
  setModel(key: TopicKey, model: string): Promise<void>;
  /**
   * The models the agent offers (the latest offer seen, or one learned by starting the agent once);
   * undefined when it offers no choice.
   *
   * @throws UserFacingError when the agent cannot be started to ask.
   */
  availableModels(): Promise<AgentModels | undefined>;
  /**
   * The settings the agent offers for the key's session (ACP config options, or the older modes and
   * models), each marked with the key's current value, and the key's session id.
   *
   * @throws UserFacingError when the agent cannot be started to ask.
   */
  settings(key: TopicKey): Promise<TopicSettings>;
  /**
   * Stores a setting choice of the key (applied after every session set-up from the next turn on).
   * Returns a one-line refusal when the agent offers no such setting or value; nothing changes then.
   *
   * @throws UserFacingError when the agent cannot be started to ask.
   */
  chooseSetting(key: TopicKey, settingId: string, value: string): Promise<string | undefined>;
  /** The agent's own slash commands as last announced for the key (any topic's before); [] before any. */
  agentCommands(key: TopicKey): AgentCommand[];
  /** One user's sessions in one chat, across topics, most recently updated first. */
  listSessions(chatId: number, userId: number): Promise<SessionRecord[]>;
  /** What /status shows for the key. */
  status(key: TopicKey): Promise<TopicStatus>;
  /**
   * The key's workspace (the stored one, or a new one under WORKSPACE_BASE_PATH), created if needed.
   *
   * @throws the fs error when it cannot be created.
   */
  workspaceFor(key: TopicKey): Promise<string>;
  /**
   * How a voice note or audio file would reach the agent now, from TRANSCRIBE_URL and the agent's
   * last known capabilities (ACP initialize, warm spares included); `none` means refuse it before
   * journalling. Starts no agent.
   */
  audioRoute(): AudioRoute;
};

/**
 * A topic key's scheduled prompts, for /schedule, /schedules and the MCP schedule tools: each runs
 * as a normal turn of its key (same queue, journal and permission policy) with a header line.
 */
export type ScheduleBook = {
  /**
   * Stores a schedule for `key`.
   *
   * @throws UserFacingError (one line) for an empty or over-long prompt, a time or cron expression
   *   that does not parse, a time in the past, too short an interval, or a key at its limit.
   */
  add(key: TopicKey, when: ScheduleWhen, prompt: string): Promise<ScheduleRecord>;
  /** The key's schedules, soonest first. */
  list(key: TopicKey): Promise<ScheduleRecord[]>;
  /**
   * Cancels schedule `id` on behalf of `key`: only the key that made it may. Returns why not (one
   * line), or undefined when it was cancelled.
   */
  cancel(id: number, key: TopicKey): Promise<string | undefined>;
};

/**
 * Access of a key's agent session to the bot's MCP server: `grant` makes a new bearer token for the
 * key (revoking its older ones: the session was replaced) and returns the ACP `mcpServers` entry
 * that carries it; `revoke` ends the key's tokens (the session ended).
 *
 * @throws StoreUnavailableError from either when the token table cannot be written.
 */
export type McpAccess = {
  grant(key: TopicKey): Promise<McpServer[]>;
  revoke(key: TopicKey): Promise<void>;
};
