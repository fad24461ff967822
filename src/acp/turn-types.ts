import type * as acp from "@agentclientprotocol/sdk";
import type { AgentCommand } from "../domain/agent-commands.js";
import type { AgentModels } from "../domain/agent-models.js";
import type { SessionSetting, SettingChoices } from "../domain/session-settings.js";
import type { AgentRecord, Attachment, TurnResult } from "../domain/turn.js";

/** One prompt turn to run in a fresh agent process. */
export type TurnRequest = {
  /** Absolute workspace path: the agent's cwd and the cwd of session/new|load|resume. */
  cwd: string;
  /** The stored ACP session id to continue, if the key has one. */
  sessionId: string | undefined;
  /**
   * When the store saved `sessionId` (ms since the epoch; the sessions row's updated_at): Gemini CLI
   * cannot load a session in the UTC minute it was created, even by an earlier bot process.
   */
  sessionSavedAt?: number;
  /** session/prompt content (ACP "Content"); text blocks at least. */
  prompt: acp.ContentBlock[];
  /** Files that go with the prompt (Telegram photos and documents saved in the workspace). */
  attachments?: Attachment[];
  /**
   * Voice notes and audio files saved in the workspace: audio blocks when the agent takes audio
   * (promptCapabilities.audio, learned at initialize), else the text `audioAsText` gives for each.
   */
  audio?: Attachment[];
  /**
   * What an audio file becomes for an agent that takes no audio: its transcript. Called after session
   * set-up, before session/prompt; a UserFacingError it throws fails the turn without prompting.
   */
  audioAsText?: (file: Attachment, signal: AbortSignal) => Promise<string>;
  /** The key's model choice, applied after every session set-up; "auto" leaves the agent's default. */
  model: string;
  /**
   * The key's other setting choices (setting id -> value), applied after every session set-up
   * (session/set_config_option, or session/set_mode for agents without config options).
   */
  settings?: SettingChoices;
  /** Aborting cancels the turn: session/cancel once prompting, open permission requests resolve as cancelled. */
  signal?: AbortSignal;
  /**
   * The topic's key for keep-alive (AGENT_KEEP_ALIVE_MS): after the turn the process stays up for
   * the topic's next turn, which then prompts it directly when it still holds the same session.
   */
  keepAliveKey?: string;
  /**
   * The MCP servers of the session (ACP "MCP Servers"), asked for at each session/new, session/load
   * and session/resume of an agent that advertises mcpCapabilities.http; others get none.
   */
  mcpServers?: () => Promise<acp.McpServer[]>;
};

/** What the turn reports while it runs. Callbacks must not throw. */
export type TurnCallbacks = {
  /** Every live session/update (never replayed history), in order; kinds the SDK knows only. */
  onUpdate?: (update: acp.SessionUpdate) => void;
  /**
   * A one-line notice for the user (context not restored, model not applied...). `once` names a
   * notice worth saying only once per topic (the agent cannot restore sessions at all).
   */
  onNotice: (line: string, once?: string) => void;
  /** session/new created this id; persist it before the prompt runs. */
  onSessionId: (sessionId: string) => void;
  /** The agent's model offer, from the session set-up response or a config_option_update. */
  onModels?: (models: AgentModels) => void;
  /** The agent's settings offer, from the set-up response, a switch's answer or a config_option_update. */
  onSettings?: (settings: SessionSetting[]) => void;
  /** The agent's slash commands (available_commands_update, Kiro's commands/available), any phase. */
  onCommands?: (commands: AgentCommand[]) => void;
  /** The agent's title for the session (session_info_update), any phase. */
  onTitle?: (title: string) => void;
  /** A stored choice the agent no longer offers or refused: forget it; `line` tells the user. */
  onSettingDropped?: (id: string, line: string) => void;
  /**
   * Answers session/request_permission (ACP "Requesting Permission"). `signal` aborts when the turn
   * is cancelled or the agent withdraws the request; the client then answers `cancelled` itself.
   * Without this callback every request is refused with the agent's reject option.
   */
  onPermission?: (
    request: acp.RequestPermissionRequest,
    signal: AbortSignal,
  ) => Promise<acp.RequestPermissionResponse>;
  /** The agent process that serves the turn (pid, start time, marker), for the journal. */
  onAgent?: (agent: AgentRecord) => void;
  /**
   * The prompt finished; called before the agent process is ended (which can take the stop grace
   * period), so the answer need not wait for it. runTurn still resolves only once the process is gone.
   */
  onResult?: (result: TurnResult) => void;
};

/** What the client learns from an agent without prompting it (initialize + session/new). */
export type AgentDescription = {
  agentInfo: acp.Implementation | null | undefined;
  /** The ACP protocol version the agent answered initialize with. */
  protocolVersion: number;
  capabilities: acp.AgentCapabilities;
  models: AgentModels | undefined;
  settings: SessionSetting[] | undefined;
};
