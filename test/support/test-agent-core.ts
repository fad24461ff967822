/**
 * A small deterministic ACP agent for tests, built with @agentclientprotocol/sdk's agent app.
 * It really persists its sessions on disk (`<state-dir>/sessions/<id>.json`), so session/load in a
 * new process restores the history, and replays that history as session/update on load (ACP
 * "Loading Sessions"). It appends one JSON line per event to `<state-dir>/events.jsonl`.
 * It runs either as a subprocess (test-agent.ts, over its stdio) or in the test's own process
 * (in-process-agent.ts, over a pair of streams); the host says which.
 *
 * Answers (by prompt text):
 * - "Remember this number: N ..."      -> "Got it, I memorized N."
 * - "What number did I ask you to remember?" -> the last N of this session's history, or "none"
 * - "sleep <ms>"                        -> waits, then answers "slept <ms>"
 * - "permission"                        -> asks session/request_permission, answers with the outcome
 * - "no usage"                          -> answers without its usual usage_update
 * - "kiro usage <n>"                    -> reports only a context percentage (Kiro's _kiro.dev/metadata)
 * - "title <text>"                      -> names the session (session_info_update), answers "titled"
 * - "edit" / "edit big"                 -> a tool call and a permission request holding a diff (3 or
 *                                          300 lines), offering allow once / reject; answers the outcome
 * - "which model"                       -> "model: <the session's current model>"
 * - "which settings"                    -> "settings: mode=.. effort=.. fast=.. model=.." (see --settings)
 * - "stream <chars> <chunks/s> [size]"  -> <chars> of Markdown (paragraphs, code blocks) in chunks of
 *                                          `size` (default 20) characters at that rate (for streaming
 *                                          tests and benchmarks)
 * - "markdown"                          -> a short answer with bold, inline code and a code block
 * - "file <name>"                       -> writes <name> in its cwd and links it (resource_link)
 * - "outside"                           -> links a file outside its cwd
 * - "image"                             -> answers with an image content block (a 1x1 PNG)
 * - "claude command transcript"         -> first Claude Code's record of a /model command (<command-name>,
 *                                          <local-command-stdout> blocks as user and agent chunks), then an answer
 * Non-text prompt blocks are echoed as [file: name uri] / [image: mimeType] / [audio: mimeType].
 * - "long <n>"                          -> n characters of text, in chunks
 * - "crash"                             -> exits with code 3 in the middle of the turn
 * - "slow <ms> <tag>"                   -> waits, then answers "done <tag>"
 * - "rpc-error"                         -> answers session/prompt with a JSON-RPC internal error
 * - "huge <MiB>"                        -> writes one line of that many MiB on stdout (over the SDK's limit)
 * - "mcp list" / "mcp call <tool> <json>" -> lists / calls the tools of the session's HTTP MCP server
 *                                          (test-agent-mcp.ts), answering with the result
 * - anything else                       -> "echo: <text>"
 *
 * Flags: --state-dir DIR (required), --no-load, --resume, --replay-after-response, --hang-on-load,
 * --junk (writes non-JSON lines on stdout), --ignore-cancel (keeps working after session/cancel),
 * --list (offers session/list: every session on disk), --fork (offers session/fork: a copy of the
 * history), --image (accepts image prompt blocks), --audio (accepts audio prompt blocks), --exit-on-load, --fail-load, --fork-child (leaves a child that
 * ignores stdin closing; subprocess only), --no-noise (skips the extension notification, unknown
 * update kind, thought and tool call of every turn), --models legacy|config (offers models "fast"
 * (default) and "smart" through the legacy `models` block + session/set_model, or a model config
 * option + session/set_config_option; like some real agents, a loaded session starts on the default
 * model again), --commands acp|kiro (announces slash commands after each set-up:
 * available_commands_update, or Kiro's `_kiro.dev/commands/available`), --settings config|modes (config options of several categories, or the older modes;
 * see test-agent-settings.ts), --init-delay MS (answers initialize that much later), --fail-init-in TEXT (fails
 * initialize when its working directory contains TEXT), --hang-on-initialize (never answers it),
 * --setsid-child (leaves a child in a session of its own; subprocess only), --ignore-stdin-close
 * (keeps running after its stdin closed, until signalled; subprocess only), --mcp-http (advertises
 * mcpCapabilities.http and logs the mcpServers of each session set-up).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as acp from "@agentclientprotocol/sdk";
import { streamText } from "./stream-text.js";
import { httpServerOf, runMcpCommand } from "./test-agent-mcp.js";
import { createTestAgentSettings } from "./test-agent-settings.js";

/** Where the agent runs: the process (test-agent.ts) or the test's own process (in-process-agent.ts). */
export type AgentHost = {
  args: readonly string[];
  /** The ACP stream to serve (the process's stdio, or an in-process pair). */
  stream: acp.Stream;
  /** The process id recorded in events; a string for an in-process agent (it has no process). */
  pid: number | string;
  /** The working directory the agent was started in. */
  cwd: string;
  /** Whether the agent's environment has a variable. */
  hasEnv(name: string): boolean;
  /** Writes raw bytes on the agent's stdout (junk between the JSON-RPC lines). */
  writeRaw(text: string): void;
  /** Writes on the agent's stderr. */
  writeStderr(text: string): void;
  /** Ends the agent with an exit code; never returns (throws in-process, to unwind the handler). */
  exit(code: number): never;
  /** Whether the agent still runs (false once it exited). */
  alive(): boolean;
  /** Spawns a child that ignores stdin closing; returns its pid (subprocess only). */
  forkChild(): number | undefined;
  /** Spawns a child that leaves the process group (setsid); returns its pid (subprocess only). */
  escapeChild(): number | undefined;
};

type Entry = { role: "user" | "agent"; text: string };
type StoredSession = { cwd: string; history: Entry[] };

const PNG_1X1 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/** The slash commands of --commands: one with input, one whose name the bot has, one the menu cannot show. */
const TEST_COMMANDS: acp.AvailableCommand[] = [
  { name: "compact", description: "Compact the conversation" },
  { name: "review", description: "Review the changes", input: { hint: "what to review" } },
  { name: "status", description: "The agent's own status" },
  { name: "review-pr", description: "Review a pull request" },
];
const MODELS = [
  { id: "fast", name: "Fast" },
  { id: "smart", name: "Smart" },
];

function answerFor(text: string, history: Entry[]): string {
  const remember = /remember this number:?\s*(\d+)/i.exec(text);
  if (remember) return `Got it, I memorized ${remember[1]}.`;
  if (/what number did i ask you to remember/i.test(text)) {
    for (const entry of [...history].reverse()) {
      const earlier = entry.role === "user" ? /remember this number:?\s*(\d+)/i.exec(entry.text) : null;
      if (earlier) return `You asked me to remember ${earlier[1]}.`;
    }
    return "You have not asked me to remember any number in this conversation.";
  }
  const long = /^long (\d+)$/.exec(text.trim());
  if (long) return "x".repeat(Number(long[1]));
  return `echo: ${text}`;
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

/**
 * Serves the test agent on `host.stream` until the stream closes (stdin closing), then exits with
 * code 0 through the host, as real agents do.
 */
export async function runTestAgent(host: AgentHost): Promise<void> {
  const { args } = host;
  const flag = (name: string) => args.includes(name);
  const optionValue = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const stateDir = optionValue("--state-dir");
  if (!stateDir) throw new Error("test-agent: --state-dir is required");
  const sessionsDir = path.join(stateDir, "sessions");
  fs.mkdirSync(sessionsDir, { recursive: true });

  const logEvent = (event: Record<string, unknown>) =>
    fs.appendFileSync(
      path.join(stateDir, "events.jsonl"),
      `${JSON.stringify({ ...event, pid: host.pid, at: Date.now() })}\n`,
    );
  const sessionFile = (id: string) => {
    if (!/^[\w-]+$/.test(id)) throw acp.RequestError.invalidParams({ sessionId: id });
    return path.join(sessionsDir, `${id}.json`);
  };
  const readSession = (id: string): StoredSession | undefined => {
    try {
      return JSON.parse(fs.readFileSync(sessionFile(id), "utf8")) as StoredSession;
    } catch {
      return undefined;
    }
  };
  const writeSession = (id: string, session: StoredSession) =>
    fs.writeFileSync(sessionFile(id), JSON.stringify(session));

  logEvent({
    event: "start",
    cwd: host.cwd,
    args,
    envHasBotToken: host.hasEnv("TELEGRAM_BOT_TOKEN"),
    envHasWebhookSecret: host.hasEnv("TELEGRAM_WEBHOOK_SECRET"),
    envHasTranscribeKey: host.hasEnv("TRANSCRIBE_API_KEY"),
  });
  if (flag("--fork-child")) logEvent({ event: "forked", childPid: host.forkChild() });
  if (flag("--setsid-child")) logEvent({ event: "escaped", childPid: host.escapeChild() });

  const cancelled = new Set<string>();
  const modelsFlag = optionValue("--models");
  const initDelayMs = Number(optionValue("--init-delay") ?? 0);
  /** The current model of each session in this process (a new process starts on the default). */
  const currentModel = new Map<string, string>();
  /** The MCP servers each session got at its latest session/new, load or resume in this process. */
  const mcpOf = new Map<string, acp.McpServer[]>();
  const keepMcp = (sessionId: string, servers: acp.McpServer[] | undefined) => {
    mcpOf.set(sessionId, servers ?? []);
    return servers ?? [];
  };

  const settings = createTestAgentSettings({
    flag: optionValue("--settings"),
    stateDir,
    logEvent,
    model: (sessionId) => currentModel.get(sessionId) ?? "fast",
    setModel: (sessionId, model) => currentModel.set(sessionId, model),
  });
  const modelOffer = (sessionId: string): Record<string, unknown> => ({
    ...modelsOffer(sessionId),
    ...settings.offer(sessionId),
  });
  const modelsOffer = (sessionId: string): Record<string, unknown> => {
    const current = currentModel.get(sessionId) ?? "fast";
    if (modelsFlag === "legacy") {
      return {
        models: {
          currentModelId: current,
          availableModels: MODELS.map((m) => ({ modelId: m.id, name: m.name })),
        },
      };
    }
    if (modelsFlag === "config") {
      return {
        configOptions: [
          {
            id: "model",
            name: "Model",
            category: "model",
            type: "select",
            currentValue: current,
            options: MODELS.map((m) => ({ value: m.id, name: m.name })),
          },
        ],
      };
    }
    return {};
  };

  const commandsFlag = optionValue("--commands");
  /** Its slash commands, announced during each set-up: the ACP update, or Kiro's notification. */
  const announceCommands = async (client: acp.AgentContext, sessionId: string) => {
    if (commandsFlag === undefined) return;
    if (commandsFlag === "kiro") {
      await client.notify("_kiro.dev/commands/available", {
        sessionId,
        commands: TEST_COMMANDS.map((c) => ({ name: `/${c.name}`, description: c.description })),
      });
      return;
    }
    await client.notify(acp.methods.client.session.update, {
      sessionId,
      update: { sessionUpdate: "available_commands_update", availableCommands: TEST_COMMANDS },
    });
  };

  const replay = async (client: acp.AgentContext, sessionId: string, history: Entry[]) => {
    for (const entry of history) {
      await client.notify(acp.methods.client.session.update, {
        sessionId,
        update: {
          sessionUpdate: entry.role === "user" ? "user_message_chunk" : "agent_message_chunk",
          content: { type: "text", text: entry.text },
        },
      });
    }
  };

  const waitOrCancel = async (sessionId: string, ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until && !cancelled.has(sessionId) && host.alive()) await sleep(10);
  };

  const app = acp
    .agent({ name: "tg-acp-test-agent" })
    .onRequest(acp.methods.agent.initialize, async () => {
      if (initDelayMs > 0) await sleep(initDelayMs);
      if (flag("--hang-on-initialize")) await new Promise(() => {});
      const failIn = optionValue("--fail-init-in");
      if (failIn !== undefined && host.cwd.includes(failIn)) {
        logEvent({ event: "initialize-failed" });
        throw acp.RequestError.internalError({ details: "initialize refused (test flag)" });
      }
      logEvent({ event: "initialized" });
      return {
        protocolVersion: acp.PROTOCOL_VERSION,
        agentCapabilities: {
          loadSession: !flag("--no-load"),
          ...(flag("--mcp-http") ? { mcpCapabilities: { http: true, sse: false } } : {}),
          promptCapabilities: { image: flag("--image"), audio: flag("--audio"), embeddedContext: false },
          sessionCapabilities: {
            ...(flag("--resume") ? { resume: {} } : {}),
            ...(flag("--list") ? { list: {} } : {}),
            ...(flag("--fork") ? { fork: {} } : {}),
            close: {},
          },
        },
        authMethods: [],
        agentInfo: { name: "tg-acp-test-agent", version: "1.0.0" },
      };
    })
    .onRequest(acp.methods.agent.session.new, async ({ params, client }) => {
      const sessionId = randomUUID();
      writeSession(sessionId, { cwd: params.cwd, history: [] });
      logEvent({
        event: "session/new",
        sessionId,
        cwd: params.cwd,
        mcpServers: keepMcp(sessionId, params.mcpServers),
        files: fs.readdirSync(params.cwd).sort(),
      });
      await announceCommands(client, sessionId);
      return { sessionId, ...modelOffer(sessionId) };
    })
    .onRequest(acp.methods.agent.session.load, async ({ params, client }) => {
      logEvent({
        event: "session/load",
        sessionId: params.sessionId,
        cwd: params.cwd,
        mcpServers: keepMcp(params.sessionId, params.mcpServers),
      });
      if (flag("--exit-on-load")) host.exit(0);
      if (flag("--hang-on-load")) await new Promise(() => {});
      const stored = readSession(params.sessionId);
      if (!stored || flag("--fail-load")) throw acp.RequestError.resourceNotFound(params.sessionId);
      if (stored.cwd !== params.cwd)
        throw acp.RequestError.invalidParams({ cwd: "differs from the session's" });
      await announceCommands(client, params.sessionId);
      if (flag("--replay-after-response")) {
        setTimeout(() => void replay(client, params.sessionId, stored.history).catch(() => {}), 50);
      } else {
        await replay(client, params.sessionId, stored.history);
      }
      return modelOffer(params.sessionId);
    })
    .onRequest(acp.methods.agent.session.resume, async ({ params, client }) => {
      logEvent({
        event: "session/resume",
        sessionId: params.sessionId,
        cwd: params.cwd,
        mcpServers: keepMcp(params.sessionId, params.mcpServers),
      });
      if (!readSession(params.sessionId)) throw acp.RequestError.resourceNotFound(params.sessionId);
      await announceCommands(client, params.sessionId);
      return modelOffer(params.sessionId);
    })
    .onRequest(acp.methods.agent.session.list, () => {
      logEvent({ event: "session/list" });
      const sessions = fs
        .readdirSync(sessionsDir)
        .filter((name) => name.endsWith(".json"))
        .map((name) => {
          const sessionId = name.slice(0, -".json".length);
          const stored = readSession(sessionId) as (StoredSession & { title?: string }) | undefined;
          const updatedAt = fs.statSync(path.join(sessionsDir, name)).mtime.toISOString();
          return {
            sessionId,
            cwd: stored?.cwd ?? "/",
            ...(stored?.title ? { title: stored.title } : {}),
            updatedAt,
          };
        })
        .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
      return { sessions };
    })
    .onRequest(acp.methods.agent.session.close, ({ params }) => {
      logEvent({ event: "session/close", sessionId: params.sessionId });
      return {};
    })
    .onNotification(acp.methods.agent.session.cancel, ({ params }) => {
      logEvent({ event: "session/cancel", sessionId: params.sessionId });
      if (!flag("--ignore-cancel")) cancelled.add(params.sessionId);
    })
    .onRequest(acp.methods.agent.session.prompt, async ({ params, client }) => {
      const { sessionId } = params;
      const stored = readSession(sessionId);
      if (!stored) throw acp.RequestError.resourceNotFound(sessionId);
      const texts = params.prompt.flatMap((block) => (block.type === "text" ? [block.text] : []));
      const text = texts.join("\n").trim();
      const attached = params.prompt.flatMap((block) => {
        if (block.type === "resource_link") return [`[file: ${block.name} ${block.uri}]`];
        if (block.type === "image") return [`[image: ${block.mimeType}]`];
        if (block.type === "audio") return [`[audio: ${block.mimeType}]`];
        return block.type === "text" ? [] : [`[${block.type}]`];
      });
      const audio = params.prompt.flatMap((block) => (block.type === "audio" ? [block.data] : []));
      logEvent({ event: "prompt-start", sessionId, text, texts, attached, audio });
      if (flag("--junk")) host.writeRaw("this is not JSON-RPC\n{broken json\n");
      const update = (u: acp.SessionUpdate) =>
        client.notify(acp.methods.client.session.update, { sessionId, update: u });

      if (!flag("--no-noise")) {
        // Noise real agents send: an extension notification, an update kind the SDK does not know,
        // a thought and a tool call. None of it may break the client or reach the answer.
        await client.notify("_kiro.dev/metadata", { sessionId, contextUsagePercentage: 1 });
        await client.notify("session/update", {
          sessionId,
          update: { sessionUpdate: "mystery_update", x: 1 },
        });
        await update({
          sessionUpdate: "agent_thought_chunk",
          content: { type: "text", text: "thinking..." },
        });
        await update({
          sessionUpdate: "tool_call",
          toolCallId: "t1",
          title: "Read notes",
          kind: "read",
          status: "pending",
        });
        await update({ sessionUpdate: "tool_call_update", toolCallId: "t1", status: "completed" });
      }

      let answer: string;
      let chunkSize = 400;
      let chunkDelayMs = 0;
      const sleepMatch = /^sleep (\d+)$/.exec(text);
      const slowMatch = /^slow (\d+) (\S+)$/.exec(text);
      const streamMatch = /^stream (\d+) (\d+)(?: (\d+))?$/.exec(text);
      const fileMatch = /^file ([\w.-]+)$/.exec(text);
      if (sleepMatch) {
        await waitOrCancel(sessionId, Number(sleepMatch[1]));
        answer = `slept ${sleepMatch[1]}`;
      } else if (slowMatch) {
        await sleep(Number(slowMatch[1]));
        answer = `done ${slowMatch[2]}`;
      } else if (/^huge \d+$/.test(text)) {
        const mib = Number(text.split(" ")[1]);
        host.writeRaw(
          `{"jsonrpc":"2.0","method":"_x","params":{"pad":"${"a".repeat(mib * 1024 * 1024)}"}}\n`,
        );
        answer = "wrote a huge line";
      } else if (text === "rpc-error") {
        host.writeStderr("backend error: connection refused by model-api\n");
        throw acp.RequestError.internalError({ details: "the model backend is down" });
      } else if (text === "crash") {
        logEvent({ event: "crash", sessionId });
        host.exit(3);
      } else if (text === "permission") {
        const response = await client.request(acp.methods.client.session.requestPermission, {
          sessionId,
          toolCall: {
            toolCallId: "t2",
            title: "Run shell command",
            kind: "execute",
            status: "pending",
            rawInput: { command: "rm -rf build" },
          },
          options: [
            { optionId: "allow", name: "Allow once", kind: "allow_once" },
            { optionId: "always", name: "Allow always", kind: "allow_always" },
            { optionId: "reject", name: "Reject", kind: "reject_once" },
          ],
        });
        if (response.outcome.outcome === "cancelled") {
          // session/cancel, when there is one, was sent first; let its handler run before checking.
          await sleep(50);
          answer = "permission cancelled";
        } else {
          answer = `permission outcome: ${response.outcome.optionId}`;
        }
      } else if (text === "edit" || text === "edit big") {
        // A file edit as real agents report it: a tool call with a diff, then a permission request
        // with the same diff, offering allow once / reject only (no "always"); "edit big" changes
        // all of 300 lines.
        const lines = text === "edit big" ? 300 : 3;
        const oldText = Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join("");
        const newText =
          text === "edit big"
            ? oldText.replaceAll("line", "changed line")
            : `${oldText.replace("line 2\n", "line two\n")}line added\n`;
        const diff: acp.ToolCallContent = {
          type: "diff",
          path: path.join(stored.cwd, "notes.txt"),
          oldText,
          newText,
        };
        await update({
          sessionUpdate: "tool_call",
          toolCallId: "e1",
          title: "Edit notes.txt",
          kind: "edit",
          status: "pending",
          content: [diff],
          locations: [{ path: path.join(stored.cwd, "notes.txt") }],
        });
        const response = await client.request(acp.methods.client.session.requestPermission, {
          sessionId,
          toolCall: {
            toolCallId: "e1",
            title: "Edit notes.txt",
            kind: "edit",
            status: "pending",
            content: [diff],
          },
          options: [
            { optionId: "allow", name: "Allow once", kind: "allow_once" },
            { optionId: "reject", name: "Reject", kind: "reject_once" },
          ],
        });
        await update({ sessionUpdate: "tool_call_update", toolCallId: "e1", status: "completed" });
        answer =
          response.outcome.outcome === "cancelled"
            ? "edit cancelled"
            : `edit outcome: ${response.outcome.optionId}`;
      } else if (text.startsWith("title ")) {
        await update({ sessionUpdate: "session_info_update", title: text.slice("title ".length) });
        (stored as StoredSession & { title?: string }).title = text.slice("title ".length);
        answer = "titled";
      } else if (text === "notice") {
        await update({
          sessionUpdate: "notice",
          severity: "warning",
          title: "MCP server failed to start",
          description: "github: exited with code 1",
        });
        answer = "answered after a notice";
      } else if (text.startsWith("mcp ")) {
        answer = await runMcpCommand(text, httpServerOf(mcpOf.get(sessionId)), update);
      } else if (text === "which settings") {
        answer = settings.describe(sessionId);
      } else if (text === "claude command transcript") {
        // Claude Code's record of a /model command, as some claude-agent-acp versions send it.
        for (const block of [
          "<command-name>/model</command-name>\n<command-message>model</command-message>\n<command-args>opus</command-args>",
          "<local-command-stdout>Set model to opus (claude-opus-5-5)</local-command-stdout>",
        ]) {
          await update({ sessionUpdate: "user_message_chunk", content: { type: "text", text: block } });
          await update({ sessionUpdate: "agent_message_chunk", content: { type: "text", text: block } });
        }
        answer = "answered after a command transcript";
      } else if (text === "which model") {
        answer = `model: ${currentModel.get(sessionId) ?? "fast"}`;
      } else if (streamMatch) {
        answer = streamText(Number(streamMatch[1]));
        chunkSize = Number(streamMatch[3] ?? 20);
        chunkDelayMs = 1000 / Number(streamMatch[2]);
      } else if (text === "markdown") {
        answer = "**Bold** and `a<b`\n\n```ts\nconst a = 1 < 2;\n```";
      } else if (fileMatch) {
        const name = fileMatch[1] as string;
        fs.writeFileSync(path.join(stored.cwd, name), `hello from ${name}\n`);
        await update({
          sessionUpdate: "agent_message_chunk",
          content: { type: "resource_link", uri: `file://${path.join(stored.cwd, name)}`, name },
        });
        answer = `here is ${name}`;
      } else if (text === "outside") {
        await update({
          sessionUpdate: "agent_message_chunk",
          content: { type: "resource_link", uri: "file:///etc/hostname", name: "hostname" },
        });
        answer = "here is a file outside";
      } else if (text === "image") {
        await update({
          sessionUpdate: "agent_message_chunk",
          content: { type: "image", mimeType: "image/png", data: PNG_1X1 },
        });
        answer = "here is an image";
      } else {
        answer = answerFor(text, stored.history);
        if (attached.length > 0) answer += ` ${attached.join(" ")}`;
      }

      if (cancelled.delete(sessionId)) {
        logEvent({ event: "prompt-end", sessionId, stopReason: "cancelled" });
        return { stopReason: "cancelled" };
      }
      const messageId = randomUUID();
      logEvent({ event: "first-chunk", sessionId });
      for (const part of chunks(answer, chunkSize)) {
        if (!host.alive()) break;
        await update({
          sessionUpdate: "agent_message_chunk",
          messageId,
          content: { type: "text", text: part },
        });
        if (chunkDelayMs > 0) await sleep(chunkDelayMs);
      }
      const kiroUsage = /^kiro usage (\d+)$/.exec(text);
      if (kiroUsage) {
        await client.notify("_kiro.dev/metadata", {
          sessionId,
          contextUsagePercentage: Number(kiroUsage[1]),
        });
      } else if (text !== "no usage") {
        await update({ sessionUpdate: "usage_update", used: 1234 + stored.history.length, size: 200_000 });
      }
      stored.history.push({ role: "user", text }, { role: "agent", text: answer });
      writeSession(sessionId, stored);
      logEvent({ event: "prompt-end", sessionId, stopReason: "end_turn" });
      return { stopReason: "end_turn" };
    });

  const switchModel = (sessionId: string, model: string, via: string) => {
    if (!MODELS.some((m) => m.id === model))
      throw acp.RequestError.invalidParams({ model: `unknown model ${model}` });
    currentModel.set(sessionId, model);
    logEvent({ event: via, sessionId, model });
  };
  if (modelsFlag === "legacy") {
    app.onRequest(
      "session/set_model",
      (params) => params as { sessionId: string; modelId: string },
      ({ params }) => {
        switchModel(params.sessionId, params.modelId, "session/set_model");
        return {};
      },
    );
  }
  settings.register(app);
  if (flag("--fork")) {
    app.onRequest(
      "session/fork",
      (params) => params as { sessionId: string; cwd: string },
      ({ params }) => {
        const stored = readSession(params.sessionId);
        if (!stored) throw acp.RequestError.resourceNotFound(params.sessionId);
        const sessionId = randomUUID();
        writeSession(sessionId, { cwd: params.cwd, history: [...stored.history] });
        logEvent({ event: "session/fork", from: params.sessionId, sessionId });
        return { sessionId };
      },
    );
  }
  if (modelsFlag === "config" && !settings.configOptions) {
    app.onRequest(acp.methods.agent.session.setConfigOption, ({ params }) => {
      if (params.configId !== "model" || typeof params.value !== "string") {
        throw acp.RequestError.invalidParams({ configId: params.configId });
      }
      switchModel(params.sessionId, params.value, "session/set_config_option");
      return modelOffer(params.sessionId) as acp.SetSessionConfigOptionResponse;
    });
  }

  const connection = app.connect(host.stream);
  // Like most real agents: stdin closing ends the process (unless told to linger, like some do).
  await connection.closed;
  if (!host.alive()) return;
  if (flag("--ignore-stdin-close")) {
    logEvent({ event: "lingering" });
    return;
  }
  logEvent({ event: "exit" });
  host.exit(0);
}
