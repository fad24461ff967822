import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A deterministic fake LLM server on 127.0.0.1 for the real-agents suite: it speaks the HTTP APIs
 * the agents use, streaming (SSE) and not, and answers from the conversation it is sent, so that a
 * restored session shows in the answer.
 *
 * APIs (paths as the official SDKs build them from a base URL):
 * - OpenAI Responses `POST /v1/responses` (also `/responses`): SSE events response.created,
 *   response.in_progress, response.output_item.added, response.content_part.added,
 *   response.output_text.delta..., response.output_text.done, response.content_part.done,
 *   response.output_item.done, response.completed (with usage), as codex reads them.
 * - OpenAI Chat Completions `POST /v1/chat/completions`: chat.completion(.chunk), `data: [DONE]`.
 * - Anthropic Messages `POST /v1/messages` (message_start, content_block_start, ping,
 *   content_block_delta, content_block_stop, message_delta, message_stop) and
 *   `POST /v1/messages/count_tokens`.
 * - Gemini `POST /v1beta/models/{model}:streamGenerateContent` (`?alt=sse`: SSE; otherwise a JSON
 *   array), `:generateContent`, `:countTokens`.
 * - Model lists: `GET /v1/models`, `/v1beta/models` (and one model by id). Any other path gets a 404
 *   and is logged with `api: "unknown"`, so a test can see what an agent asked for.
 *
 * Answers, from the last user text of a "main" request (one that offers tools; the agents' side
 * requests, such as title generation, offer none and always get `echo: <last user text>` at once):
 * - `Remember this number: N`               -> "Got it, I memorized N."
 * - `What number did I ask you to remember?` -> "You asked me to remember N." with the last N found in
 *   the earlier user turns of the request, or "You did not ask me to remember a number."
 * - `run shell: CMD` (to the end of the line) -> a call of the shell tool the request offers, running
 *   CMD; `write file NAME [with TEXT]`       -> a call of its file-write tool creating NAME (relative
 *   to the working directory the agent told the model, absolute when the tool wants it) with TEXT
 *   (default "written by the fake model"). Once the tool's result comes back: "Tool TOOL returned: OUT".
 * - `slow MS`: waits MS before the first byte; `drip MS`: waits MS before each streamed chunk;
 *   `fail 500|429|503`: answers that HTTP status (429 with `retry-after: 1`) every time it is asked;
 *   `long N`: N characters of text.
 * - A request for JSON (Gemini `responseMimeType: application/json`) gets an object built from its
 *   schema (enums prefer "user"), e.g. Gemini's next-speaker check.
 * - Otherwise `echo: <last user text>`.
 * Programmatic controls do the same from a test: {@link FakeModel.enqueue} (next main requests),
 * {@link FakeModel.set} (delays for every request).
 *
 * Security: it listens on 127.0.0.1 only and answers 403 to any peer that is not loopback.
 */
export type FakeApi = "responses" | "chat" | "anthropic" | "gemini" | "models" | "count_tokens" | "unknown";

/** What the fake model is told to answer, instead of deriving it from the prompt. */
export type ScriptedReply = (
  | { text: string }
  | { shell: string }
  | { write: { name: string; content?: string } }
  | { fail: number; retryAfterS?: number }
) & { firstByteDelayMs?: number; chunkDelayMs?: number };

/** How a request was answered. */
export type FakeReply =
  | { kind: "text"; text: string }
  | { kind: "tool"; tool: string; args: Record<string, unknown> | string; wanted: "shell" | "write" | "mcp" }
  | { kind: "json"; json: unknown }
  | { kind: "error"; status: number };

/** One call the fake model received. */
export type FakeModelCall = {
  at: number;
  method: string;
  /** Path with the query string. */
  url: string;
  api: FakeApi;
  model: string | undefined;
  stream: boolean;
  /** The text of every user turn, wrapper blocks (system reminders, environment context) removed. */
  userTurns: string[];
  /** Names of the tools the request offered. */
  tools: string[];
  /** The working directory the agent told the model (from its system prompt or context), if found. */
  cwd: string | undefined;
  /** True when the conversation ends with a tool result. */
  afterToolResult: boolean;
  reply: FakeReply | undefined;
  status: number;
  /** Request headers whose name says which client asked (user-agent, x-*, anthropic-*). */
  headers: Record<string, string>;
  /** The parsed JSON body (for debugging a new agent version). */
  body: unknown;
};

export type FakeModelOptions = {
  /** Wait before the first byte of every answer, ms. */
  firstByteDelayMs: number;
  /** Wait before each streamed chunk, ms. */
  chunkDelayMs: number;
  /** Characters per streamed text chunk. */
  chunkChars: number;
};

export type FakeModel = Awaited<ReturnType<typeof startFakeModel>>;

type Json = Record<string, unknown>;

const obj = (value: unknown): Json =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** One turn of a conversation, whatever API carried it. */
type Turn = {
  role: "user" | "assistant" | "system";
  texts: string[];
  toolCalls: { id: string; name: string }[];
  toolResults: { id: string; output: string }[];
};

/** A request reduced to what the answer depends on. */
type Conversation = {
  system: string;
  turns: Turn[];
  tools: ToolSpec[];
  model: string | undefined;
  wantsJson: unknown | undefined;
};

type ToolSpec = {
  name: string;
  kind: "function" | "custom" | "local_shell";
  schema: Json;
  description?: string;
};

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** Blocks agents add to user turns: context, reminders, and Claude Code's local command transcript. */
const WRAPPER_BLOCK =
  /<(system-reminder|environment_context|user_instructions|permissions instructions|collaboration_mode|session_context|local-command-caveat|command-name|command-message|command-args|local-command-stdout|local-command-stderr)[^>]*>[\s\S]*?<\/\1>/g;

/** The user's own words of one text part: agent-added wrapper blocks removed. */
function userWords(text: string): string {
  return text.replace(WRAPPER_BLOCK, "").trim();
}

function textOf(content: unknown): string[] {
  if (typeof content === "string") return [content];
  return arr(content)
    .map((part) => str(obj(part).text))
    .filter((t): t is string => t !== undefined);
}

function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) return textOf(output).join("\n");
  return JSON.stringify(output ?? "");
}

function parseResponses(body: Json): Conversation {
  const turns: Turn[] = [];
  const input = body.input;
  const items = typeof input === "string" ? [{ type: "message", role: "user", content: input }] : arr(input);
  for (const raw of items) {
    const item = obj(raw);
    const type = str(item.type) ?? "message";
    if (type === "message") {
      const role = item.role === "assistant" ? "assistant" : item.role === "user" ? "user" : "system";
      turns.push({ role, texts: textOf(item.content), toolCalls: [], toolResults: [] });
    } else if (type === "function_call" || type === "custom_tool_call" || type === "local_shell_call") {
      turns.push({
        role: "assistant",
        texts: [],
        toolCalls: [{ id: str(item.call_id) ?? "", name: str(item.name) ?? type }],
        toolResults: [],
      });
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      turns.push({
        role: "user",
        texts: [],
        toolCalls: [],
        toolResults: [{ id: str(item.call_id) ?? "", output: outputText(item.output) }],
      });
    }
  }
  // codex sends tools in `tools`, or (models in "code mode") in an `additional_tools` input item,
  // grouped in namespaces.
  const declared = [
    ...arr(body.tools),
    ...items.filter((raw) => obj(raw).type === "additional_tools").flatMap((raw) => arr(obj(raw).tools)),
  ].flatMap((raw) => (obj(raw).type === "namespace" ? arr(obj(raw).tools) : [raw]));
  const tools: ToolSpec[] = declared.map((raw) => {
    const tool = obj(raw);
    const kind = tool.type === "custom" ? "custom" : tool.type === "local_shell" ? "local_shell" : "function";
    return {
      name: str(tool.name) ?? str(tool.type) ?? "",
      kind,
      schema: obj(tool.parameters),
      description: str(tool.description) ?? "",
    };
  });
  return {
    system: str(body.instructions) ?? "",
    turns,
    tools,
    model: str(body.model),
    wantsJson:
      obj(obj(body.text).format).type === "json_schema" ? obj(obj(body.text).format).schema : undefined,
  };
}

function parseChat(body: Json): Conversation {
  const turns: Turn[] = [];
  let system = "";
  for (const raw of arr(body.messages)) {
    const message = obj(raw);
    const role = str(message.role);
    if (role === "system" || role === "developer") {
      system += `${textOf(message.content).join("\n")}\n`;
    } else if (role === "tool") {
      turns.push({
        role: "user",
        texts: [],
        toolCalls: [],
        toolResults: [{ id: str(message.tool_call_id) ?? "", output: outputText(message.content) }],
      });
    } else {
      turns.push({
        role: role === "assistant" ? "assistant" : "user",
        texts: textOf(message.content),
        toolCalls: arr(message.tool_calls).map((c) => ({
          id: str(obj(c).id) ?? "",
          name: str(obj(obj(c).function).name) ?? "",
        })),
        toolResults: [],
      });
    }
  }
  const tools: ToolSpec[] = arr(body.tools).map((raw) => {
    const fn = obj(obj(raw).function);
    return { name: str(fn.name) ?? "", kind: "function", schema: obj(fn.parameters) };
  });
  const format = obj(body.response_format);
  return {
    system,
    turns,
    tools,
    model: str(body.model),
    wantsJson: format.type === "json_schema" ? obj(format.json_schema).schema : undefined,
  };
}

function parseAnthropic(body: Json): Conversation {
  const turns: Turn[] = [];
  for (const raw of arr(body.messages)) {
    const message = obj(raw);
    const content =
      typeof message.content === "string" ? [{ type: "text", text: message.content }] : arr(message.content);
    // Claude Code also sends mid-conversation `role: "system"` messages (environment, model notes).
    const role = message.role === "assistant" ? "assistant" : message.role === "system" ? "system" : "user";
    const turn: Turn = { role, texts: [], toolCalls: [], toolResults: [] };
    for (const rawBlock of content) {
      const block = obj(rawBlock);
      if (block.type === "text") turn.texts.push(str(block.text) ?? "");
      else if (block.type === "tool_use")
        turn.toolCalls.push({ id: str(block.id) ?? "", name: str(block.name) ?? "" });
      else if (block.type === "tool_result")
        turn.toolResults.push({ id: str(block.tool_use_id) ?? "", output: outputText(block.content) });
    }
    turns.push(turn);
  }
  const system = typeof body.system === "string" ? body.system : textOf(body.system).join("\n");
  const tools: ToolSpec[] = arr(body.tools).map((raw) => {
    const tool = obj(raw);
    return { name: str(tool.name) ?? "", kind: "function", schema: obj(tool.input_schema) };
  });
  return { system, turns, tools, model: str(body.model), wantsJson: undefined };
}

function parseGemini(body: Json, model: string | undefined): Conversation {
  const turns: Turn[] = [];
  for (const raw of arr(body.contents)) {
    const content = obj(raw);
    const turn: Turn = {
      role: content.role === "model" ? "assistant" : "user",
      texts: [],
      toolCalls: [],
      toolResults: [],
    };
    for (const rawPart of arr(content.parts)) {
      const part = obj(rawPart);
      if (typeof part.text === "string" && part.thought !== true) turn.texts.push(part.text);
      if (part.functionCall) {
        const call = obj(part.functionCall);
        turn.toolCalls.push({ id: str(call.id) ?? str(call.name) ?? "", name: str(call.name) ?? "" });
      }
      if (part.functionResponse) {
        const response = obj(part.functionResponse);
        turn.toolResults.push({
          id: str(response.id) ?? str(response.name) ?? "",
          output: outputText(obj(response.response).output ?? response.response),
        });
      }
    }
    turns.push(turn);
  }
  const tools: ToolSpec[] = arr(body.tools).flatMap((raw) =>
    arr(obj(raw).functionDeclarations).map((rawDecl) => {
      const decl = obj(rawDecl);
      return {
        name: str(decl.name) ?? "",
        kind: "function" as const,
        schema: obj(decl.parametersJsonSchema ?? decl.parameters),
      };
    }),
  );
  const config = obj(body.generationConfig);
  const system = textOf(obj(body.systemInstruction).parts).join("\n");
  return {
    system,
    turns,
    tools,
    model,
    wantsJson:
      config.responseMimeType === "application/json"
        ? (config.responseJsonSchema ?? config.responseSchema ?? {})
        : undefined,
  };
}

/** The user turns with text of the user's own (not only tool results or agent context). */
function userTurns(conversation: Conversation): string[] {
  return conversation.turns
    .filter((turn) => turn.role === "user")
    .map((turn) => turn.texts.map(userWords).filter(Boolean).join("\n"))
    .filter(Boolean);
}

/**
 * The last text part of the user's own words: the prompt being answered. (An agent may merge a
 * failed turn's prompt and the next one into one user message; the last part is the new prompt.)
 */
function lastUserText(conversation: Conversation): string {
  for (let i = conversation.turns.length - 1; i >= 0; i--) {
    const turn = conversation.turns[i] as Turn;
    if (turn.role !== "user") continue;
    const parts = turn.texts.map(userWords).filter(Boolean);
    if (parts.length > 0) return parts.at(-1) as string;
  }
  return "";
}

/** True when a tool result came after the last user words: the agent ran the tool we asked for. */
function lastToolResult(conversation: Conversation): { id: string; output: string } | undefined {
  for (let i = conversation.turns.length - 1; i >= 0; i--) {
    const turn = conversation.turns[i] as Turn;
    if (turn.toolResults.length > 0) return turn.toolResults.at(-1);
    if (turn.role === "user" && turn.texts.map(userWords).some(Boolean)) return undefined;
  }
  return undefined;
}

function toolNameOf(conversation: Conversation, callId: string): string {
  for (const turn of conversation.turns) {
    const call = turn.toolCalls.find((c) => c.id === callId);
    if (call) return call.name;
  }
  return "the tool";
}

const CWD_PATTERNS = [
  /<cwd>([^<\n]+)<\/cwd>/,
  /Primary working directory: (\/\S+)/,
  /Working directory: (\/\S+)/,
  /I'm currently working in the directory: (\/\S+)/,
  /Workspace Directories:\*\*\n\s*- (\/\S+)/,
  /[Ww]orking directory[^:\n]*:\s*`?(\/[^\s`]+)/,
];

/** The working directory the agent told the model, from its system prompt or context turns. */
function cwdOf(conversation: Conversation): string | undefined {
  const texts = [conversation.system, ...conversation.turns.flatMap((turn) => turn.texts)];
  for (const pattern of CWD_PATTERNS) {
    for (const text of texts) {
      const match = pattern.exec(text);
      if (match?.[1]) return match[1].replace(/[.,]$/, "");
    }
  }
  return undefined;
}

const SHELL_TOOLS = [
  "Bash",
  "run_shell_command",
  "shell_command",
  "exec_command",
  "shell",
  "local_shell",
  "bash",
];
const WRITE_TOOLS = ["Write", "write_file", "apply_patch", "write", "create_file"];

function findTool(conversation: Conversation, names: string[]): ToolSpec | undefined {
  for (const name of names) {
    const tool = conversation.tools.find((t) => t.name === name);
    if (tool) return tool;
  }
  return undefined;
}

function schemaProps(schema: Json): Json {
  return obj(schema.properties);
}

function shellArgs(tool: ToolSpec, command: string): Record<string, unknown> {
  const props = schemaProps(tool.schema);
  const key = "cmd" in props && !("command" in props) ? "cmd" : "command";
  const wantsArray = obj(props[key]).type === "array" || tool.kind === "local_shell";
  const args: Record<string, unknown> = { [key]: wantsArray ? ["bash", "-lc", command] : command };
  if ("description" in props) args.description = "Run a command the fake model was asked to run";
  // codex: ask to run outside the sandbox, which goes through the approval flow (ACP permission).
  if ("sandbox_permissions" in props) {
    args.sandbox_permissions = "require_escalated";
    args.justification = "The fake model was asked to run this command.";
  }
  return args;
}

function patchFor(name: string, content: string): string {
  const lines = content.split("\n").map((line) => `+${line}`);
  return `*** Begin Patch\n*** Add File: ${name}\n${lines.join("\n")}\n*** End Patch\n`;
}

function writeArgs(
  tool: ToolSpec,
  name: string,
  content: string,
  cwd: string | undefined,
): Record<string, unknown> | string {
  if (tool.name === "apply_patch") {
    const patch = patchFor(name, content);
    return tool.kind === "custom" ? patch : { input: patch };
  }
  const props = schemaProps(tool.schema);
  const pathKey = ["file_path", "path", "absolute_path", "filename"].find((k) => k in props) ?? "file_path";
  const contentKey = ["content", "text", "contents"].find((k) => k in props) ?? "content";
  const absolute = cwd && !name.startsWith("/") ? `${cwd.replace(/\/$/, "")}/${name}` : name;
  return { [pathKey]: absolute, [contentKey]: content };
}

/** A JSON value that fits `schema` (enough for the agents' structured side requests). */
function jsonFor(schema: unknown): unknown {
  const s = obj(schema);
  const type = str(s.type)?.toLowerCase();
  const choices = arr(s.enum);
  if (choices.length > 0) return choices.includes("user") ? "user" : choices[0];
  if (type === "object" || s.properties) {
    const out: Json = {};
    for (const [key, value] of Object.entries(obj(s.properties))) out[key] = jsonFor(value);
    return out;
  }
  if (type === "array") return [];
  if (type === "boolean") return false;
  if (type === "number" || type === "integer") return 0;
  return "fake";
}

type Decision = { reply: FakeReply; firstByteDelayMs?: number; chunkDelayMs?: number; retryAfterS?: number };

const REMEMBER = /Remember this number:\s*(\d+)/i;
const RECALL = /What number did I ask you to remember\?/i;

function fromScript(script: ScriptedReply, conversation: Conversation): Decision {
  const delays = { firstByteDelayMs: script.firstByteDelayMs, chunkDelayMs: script.chunkDelayMs };
  if ("text" in script) return { reply: { kind: "text", text: script.text }, ...delays };
  if ("fail" in script)
    return { reply: { kind: "error", status: script.fail }, retryAfterS: script.retryAfterS, ...delays };
  if ("shell" in script) return { reply: toolReply(conversation, "shell", script.shell), ...delays };
  return { reply: toolReply(conversation, "write", script.write.name, script.write.content), ...delays };
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function toolReply(
  conversation: Conversation,
  wanted: "shell" | "write",
  target: string,
  content?: string,
): FakeReply {
  const tool = findTool(conversation, wanted === "shell" ? SHELL_TOOLS : WRITE_TOOLS);
  const codeMode = conversation.tools.find(
    (t) => t.name === "exec" && t.kind === "custom" && t.description?.includes("tools."),
  );
  if (!tool && codeMode) {
    // codex "code mode": the only tool runs JavaScript that calls the real tools on `tools`.
    const call =
      wanted === "shell"
        ? `tools.exec_command(${JSON.stringify({ cmd: target, sandbox_permissions: "require_escalated", justification: "The fake model was asked to run this command." })})`
        : `tools.apply_patch(${JSON.stringify(patchFor(target, content ?? "written by the fake model"))})`;
    const js = `const result = await ${call};\ntext(typeof result === "string" ? result : JSON.stringify(result));\n`;
    return { kind: "tool", tool: "exec", args: js, wanted };
  }
  if (!tool && wanted === "write" && findTool(conversation, SHELL_TOOLS)) {
    // No file tool offered (codex with some models): write the file with the shell tool.
    const text = content ?? "written by the fake model";
    return toolReply(conversation, "shell", `printf '%s\\n' ${shellQuote(text)} > ${shellQuote(target)}`);
  }
  if (!tool) {
    const offered = conversation.tools.map((t) => t.name).join(", ") || "none";
    return { kind: "text", text: `I was offered no ${wanted} tool (tools: ${offered}).` };
  }
  const args =
    wanted === "shell"
      ? shellArgs(tool, target)
      : writeArgs(tool, target, content ?? "written by the fake model", cwdOf(conversation));
  return { kind: "tool", tool: tool.name, args, wanted };
}

/**
 * A call of an MCP tool the agent offered: `name` bare, or as the agents prefix it (`mcp__<server>__`,
 * Gemini's `mcp_<server>_`), with the JSON arguments given.
 */
function mcpToolReply(conversation: Conversation, name: string, json: string): FakeReply {
  const tool = conversation.tools.find(
    (t) =>
      t.name === name || t.name.endsWith(`__${name}`) || new RegExp(`^mcp_[\\w-]+_${name}$`).test(t.name),
  );
  if (!tool) return { kind: "text", text: `I was offered no tool ${name}.` };
  return { kind: "tool", tool: tool.name, args: JSON.parse(json) as Record<string, unknown>, wanted: "mcp" };
}

function decide(conversation: Conversation): Decision {
  if (conversation.wantsJson !== undefined)
    return { reply: { kind: "json", json: jsonFor(conversation.wantsJson) } };
  const turns = userTurns(conversation);
  const last = lastUserText(conversation);
  // A side request (title generation and the like) offers no tools: it gets a plain answer at once,
  // so that "slow", "fail" and tool directives act on the agent's turn only.
  if (conversation.tools.length === 0) return { reply: { kind: "text", text: `echo: ${last}` } };
  const delays = {
    firstByteDelayMs: Number(/\bslow (\d+)/.exec(last)?.[1] ?? Number.NaN),
    chunkDelayMs: Number(/\bdrip (\d+)/.exec(last)?.[1] ?? Number.NaN),
  };
  const given = {
    ...(Number.isFinite(delays.firstByteDelayMs) ? { firstByteDelayMs: delays.firstByteDelayMs } : {}),
    ...(Number.isFinite(delays.chunkDelayMs) ? { chunkDelayMs: delays.chunkDelayMs } : {}),
  };
  const fail = /\bfail (429|500|503)\b/.exec(last);
  if (fail) return { reply: { kind: "error", status: Number(fail[1]) }, ...given };

  const result = lastToolResult(conversation);
  if (result) {
    const output = result.output.replace(/\s+/g, " ").trim().slice(0, 200);
    return {
      reply: { kind: "text", text: `Tool ${toolNameOf(conversation, result.id)} returned: ${output}` },
      ...given,
    };
  }
  const mcp = /call tool (\S+) (\{.*\})$/m.exec(last);
  if (mcp?.[1] && mcp[2]) return { reply: mcpToolReply(conversation, mcp[1], mcp[2]), ...given };
  const shell = /run shell: (.+)$/m.exec(last);
  if (shell?.[1]) return { reply: toolReply(conversation, "shell", shell[1].trim()), ...given };
  const write = /write file (\S+)(?: with (.+))?$/m.exec(last);
  if (write?.[1]) return { reply: toolReply(conversation, "write", write[1], write[2]?.trim()), ...given };

  const remember = REMEMBER.exec(last);
  if (remember) return { reply: { kind: "text", text: `Got it, I memorized ${remember[1]}.` }, ...given };
  if (RECALL.test(last)) {
    // Every user text before the question (the question may share its message with earlier prompts).
    const earlier = turns
      .join("\n")
      .slice(0, Math.max(0, turns.join("\n").lastIndexOf(last)))
      .split("\n")
      .map((t) => REMEMBER.exec(t)?.[1])
      .filter(Boolean);
    const number = earlier.at(-1);
    const text = number ? `You asked me to remember ${number}.` : "You did not ask me to remember a number.";
    return { reply: { kind: "text", text }, ...given };
  }
  const long = /\blong (\d+)\b/.exec(last);
  if (long) {
    const n = Math.min(Number(long[1]), 1_000_000);
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil(n / 45)).slice(0, n);
    return { reply: { kind: "text", text }, ...given };
  }
  return { reply: { kind: "text", text: `echo: ${last}` }, ...given };
}

function chunksOf(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function argsText(args: Record<string, unknown> | string): string {
  return typeof args === "string" ? args : JSON.stringify(args);
}

/** Writes SSE events with a delay before each; stops quietly once the client went away. */
class SseWriter {
  private closed = false;
  constructor(
    private readonly res: http.ServerResponse,
    private readonly delayMs: number,
  ) {
    res.on("close", () => {
      this.closed = true;
    });
  }
  get gone(): boolean {
    return this.closed;
  }
  start(): void {
    this.res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
  }
  /** `event` names the SSE event (OpenAI Responses, Anthropic); omitted, only `data:` is sent. */
  async send(data: unknown, event?: string, delayed = false): Promise<void> {
    if (this.closed) return;
    if (delayed && this.delayMs > 0) await sleep(this.delayMs);
    if (this.closed) return;
    const payload = typeof data === "string" ? data : JSON.stringify(data);
    this.res.write(`${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`);
  }
  end(): void {
    if (!this.closed) this.res.end();
  }
}

let idCounter = 0;
const nextId = (prefix: string) => `${prefix}_fake${(++idCounter).toString(36).padStart(6, "0")}`;

// ---- OpenAI Responses -------------------------------------------------------------------------

function responsesOutputItem(reply: FakeReply, id: string): Json {
  if (reply.kind === "tool") {
    if (typeof reply.args === "string") {
      return {
        type: "custom_tool_call",
        id,
        call_id: `call_${id}`,
        name: reply.tool,
        input: reply.args,
        status: "completed",
      };
    }
    return {
      type: "function_call",
      id,
      call_id: `call_${id}`,
      name: reply.tool,
      arguments: argsText(reply.args),
      status: "completed",
    };
  }
  const text = reply.kind === "json" ? JSON.stringify(reply.json) : reply.kind === "text" ? reply.text : "";
  return {
    type: "message",
    id,
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [] }],
  };
}

function responsesObject(
  model: string,
  status: string,
  output: Json[],
  inputTokens: number,
  outputTokens: number,
) {
  return {
    id: `resp_${model.length}_${idCounter}`,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output,
    usage:
      status === "completed"
        ? {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: inputTokens + outputTokens,
          }
        : null,
  };
}

async function streamResponses(
  sse: SseWriter,
  reply: FakeReply,
  model: string,
  inTokens: number,
  chunkChars: number,
) {
  let seq = 0;
  const ev = (type: string, data: Json, delayed = false) =>
    sse.send({ type, sequence_number: seq++, ...data }, type, delayed);
  const id = nextId(reply.kind === "tool" ? "fc" : "msg");
  const item = responsesOutputItem(reply, id);
  const response = responsesObject(model, "in_progress", [], inTokens, 0);
  await ev("response.created", { response });
  await ev("response.in_progress", { response });
  let outTokens = 1;
  if (reply.kind === "tool") {
    const isCustom = item.type === "custom_tool_call";
    const added = isCustom
      ? { ...item, input: "", status: "in_progress" }
      : { ...item, arguments: "", status: "in_progress" };
    await ev("response.output_item.added", { output_index: 0, item: added });
    const full = isCustom ? (str(item.input) ?? "") : (str(item.arguments) ?? "");
    outTokens = tokens(full);
    const deltaType = isCustom
      ? "response.custom_tool_call_input.delta"
      : "response.function_call_arguments.delta";
    for (const delta of chunksOf(full, chunkChars * 4)) {
      await ev(deltaType, { item_id: id, output_index: 0, delta }, true);
    }
    const doneType = isCustom
      ? "response.custom_tool_call_input.done"
      : "response.function_call_arguments.done";
    await ev(doneType, {
      item_id: id,
      output_index: 0,
      ...(isCustom ? { input: full } : { arguments: full }),
    });
  } else {
    const text = str(obj(arr(item.content)[0]).text) ?? "";
    outTokens = tokens(text);
    await ev("response.output_item.added", {
      output_index: 0,
      item: { ...item, status: "in_progress", content: [] },
    });
    const part = { type: "output_text", text: "", annotations: [] };
    await ev("response.content_part.added", { item_id: id, output_index: 0, content_index: 0, part });
    for (const delta of chunksOf(text, chunkChars)) {
      await ev(
        "response.output_text.delta",
        { item_id: id, output_index: 0, content_index: 0, delta, logprobs: [] },
        true,
      );
    }
    await ev("response.output_text.done", {
      item_id: id,
      output_index: 0,
      content_index: 0,
      text,
      logprobs: [],
    });
    await ev("response.content_part.done", {
      item_id: id,
      output_index: 0,
      content_index: 0,
      part: { ...part, text },
    });
  }
  await ev("response.output_item.done", { output_index: 0, item });
  await ev("response.completed", {
    response: responsesObject(model, "completed", [item], inTokens, outTokens),
  });
  sse.end();
}

// ---- OpenAI Chat Completions ------------------------------------------------------------------

async function streamChat(
  sse: SseWriter,
  reply: FakeReply,
  model: string,
  inTokens: number,
  chunkChars: number,
  usage: boolean,
) {
  const id = nextId("chatcmpl");
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Json, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  let outTokens = 1;
  if (reply.kind === "tool") {
    const args = argsText(reply.args);
    outTokens = tokens(args);
    const callId = nextId("call");
    await sse.send(
      chunk(
        {
          role: "assistant",
          tool_calls: [
            { index: 0, id: callId, type: "function", function: { name: reply.tool, arguments: "" } },
          ],
        },
        null,
      ),
    );
    for (const part of chunksOf(args, chunkChars * 4)) {
      await sse.send(
        chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }, null),
        undefined,
        true,
      );
    }
    await sse.send(chunk({}, "tool_calls"));
  } else {
    const text = reply.kind === "json" ? JSON.stringify(reply.json) : reply.kind === "text" ? reply.text : "";
    outTokens = tokens(text);
    await sse.send(chunk({ role: "assistant", content: "" }, null));
    for (const part of chunksOf(text, chunkChars))
      await sse.send(chunk({ content: part }, null), undefined, true);
    await sse.send(chunk({}, "stop"));
  }
  if (usage) {
    await sse.send({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [],
      usage: { prompt_tokens: inTokens, completion_tokens: outTokens, total_tokens: inTokens + outTokens },
    });
  }
  await sse.send("[DONE]");
  sse.end();
}

function chatObject(reply: FakeReply, model: string, inTokens: number): Json {
  const message: Json =
    reply.kind === "tool"
      ? {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: nextId("call"),
              type: "function",
              function: { name: reply.tool, arguments: argsText(reply.args) },
            },
          ],
        }
      : {
          role: "assistant",
          content:
            reply.kind === "json" ? JSON.stringify(reply.json) : reply.kind === "text" ? reply.text : "",
        };
  const outTokens = tokens(JSON.stringify(message));
  return {
    id: nextId("chatcmpl"),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: reply.kind === "tool" ? "tool_calls" : "stop" }],
    usage: { prompt_tokens: inTokens, completion_tokens: outTokens, total_tokens: inTokens + outTokens },
  };
}

// ---- Anthropic Messages -----------------------------------------------------------------------

function anthropicUsage(inTokens: number, outTokens: number) {
  return {
    input_tokens: inTokens,
    output_tokens: outTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

function anthropicBlock(reply: FakeReply): Json {
  if (reply.kind === "tool")
    return { type: "tool_use", id: nextId("toolu"), name: reply.tool, input: reply.args };
  return {
    type: "text",
    text: reply.kind === "json" ? JSON.stringify(reply.json) : reply.kind === "text" ? reply.text : "",
  };
}

async function streamAnthropic(
  sse: SseWriter,
  reply: FakeReply,
  model: string,
  inTokens: number,
  chunkChars: number,
) {
  const id = nextId("msg");
  await sse.send(
    {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(inTokens, 1),
      },
    },
    "message_start",
  );
  const block = anthropicBlock(reply);
  let outTokens: number;
  if (block.type === "tool_use") {
    await sse.send(
      { type: "content_block_start", index: 0, content_block: { ...block, input: {} } },
      "content_block_start",
    );
    await sse.send({ type: "ping" }, "ping");
    const json = JSON.stringify(block.input);
    outTokens = tokens(json);
    for (const part of chunksOf(json, chunkChars * 4)) {
      await sse.send(
        { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: part } },
        "content_block_delta",
        true,
      );
    }
  } else {
    await sse.send(
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      "content_block_start",
    );
    await sse.send({ type: "ping" }, "ping");
    const text = str(block.text) ?? "";
    outTokens = tokens(text);
    for (const part of chunksOf(text, chunkChars)) {
      await sse.send(
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: part } },
        "content_block_delta",
        true,
      );
    }
  }
  await sse.send({ type: "content_block_stop", index: 0 }, "content_block_stop");
  await sse.send(
    {
      type: "message_delta",
      delta: { stop_reason: block.type === "tool_use" ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: outTokens },
    },
    "message_delta",
  );
  await sse.send({ type: "message_stop" }, "message_stop");
  sse.end();
}

function anthropicObject(reply: FakeReply, model: string, inTokens: number): Json {
  const block = anthropicBlock(reply);
  return {
    id: nextId("msg"),
    type: "message",
    role: "assistant",
    model,
    content: [block],
    stop_reason: block.type === "tool_use" ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: anthropicUsage(inTokens, tokens(JSON.stringify(block))),
  };
}

// ---- Gemini -----------------------------------------------------------------------------------

function geminiChunk(
  parts: Json[],
  model: string,
  finish: boolean,
  inTokens: number,
  outTokens: number,
): Json {
  return {
    candidates: [
      { content: { role: "model", parts }, index: 0, ...(finish ? { finishReason: "STOP" } : {}) },
    ],
    usageMetadata: {
      promptTokenCount: inTokens,
      candidatesTokenCount: outTokens,
      totalTokenCount: inTokens + outTokens,
    },
    modelVersion: model,
    responseId: `resp_${idCounter}`,
  };
}

function geminiParts(reply: FakeReply, chunkChars: number): Json[][] {
  if (reply.kind === "tool") return [[{ functionCall: { name: reply.tool, args: reply.args } }]];
  const text = reply.kind === "json" ? JSON.stringify(reply.json) : reply.kind === "text" ? reply.text : "";
  return chunksOf(text, chunkChars).map((t) => [{ text: t }]);
}

// ---- server -----------------------------------------------------------------------------------

function errorBody(api: FakeApi, status: number): Json {
  const message = status === 429 ? "fake model: rate limited" : "fake model: server error";
  if (api === "anthropic") {
    return { type: "error", error: { type: status === 429 ? "rate_limit_error" : "api_error", message } };
  }
  if (api === "gemini") {
    return { error: { code: status, message, status: status === 429 ? "RESOURCE_EXHAUSTED" : "INTERNAL" } };
  }
  return { error: { message, type: status === 429 ? "rate_limit_exceeded" : "server_error", code: null } };
}

const MODEL_IDS = ["fake-model", "fake-model-mini"];

function modelList(): Json {
  const created = 1_700_000_000;
  const data = MODEL_IDS.map((id) => ({
    id,
    object: "model",
    type: "model",
    created,
    created_at: "2024-01-01T00:00:00Z",
    owned_by: "fake",
    display_name: id,
  }));
  return { object: "list", data, has_more: false, first_id: MODEL_IDS[0], last_id: MODEL_IDS.at(-1) };
}

function geminiModelList(): Json {
  return {
    models: MODEL_IDS.map((id) => ({
      name: `models/${id}`,
      displayName: id,
      supportedGenerationMethods: ["generateContent", "countTokens"],
      inputTokenLimit: 1_000_000,
      outputTokenLimit: 65_536,
    })),
  };
}

const INTERESTING_HEADER = /^(user-agent|x-|anthropic-|openai-|originator|session_id|version)/;

/**
 * Starts the fake model on 127.0.0.1 (random port unless `port` is given).
 * Returns its base URL (`url`, no trailing slash), the call log and the controls.
 */
export async function startFakeModel(options: Partial<FakeModelOptions> & { port?: number } = {}) {
  const settings: FakeModelOptions = {
    firstByteDelayMs: options.firstByteDelayMs ?? 0,
    chunkDelayMs: options.chunkDelayMs ?? 0,
    chunkChars: options.chunkChars ?? 12,
  };
  const calls: FakeModelCall[] = [];
  const script: ScriptedReply[] = [];
  const waiters = new Set<() => void>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    let body: Json = {};
    try {
      body = raw ? obj(JSON.parse(raw)) : {};
    } catch {
      body = {};
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (INTERESTING_HEADER.test(name) && typeof value === "string") headers[name] = value;
    }
    const call: FakeModelCall = {
      at: Date.now(),
      method: req.method ?? "GET",
      url: req.url ?? "/",
      api: "unknown",
      model: undefined,
      stream: false,
      userTurns: [],
      tools: [],
      cwd: undefined,
      afterToolResult: false,
      reply: undefined,
      status: 200,
      headers,
      body,
    };
    calls.push(call);
    for (const wake of waiters) wake();

    const json = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      call.status = status;
      res.writeHead(status, { "content-type": "application/json", ...extra });
      res.end(JSON.stringify(payload));
    };

    const gemini =
      /^\/(?:v1beta|v1|v1alpha)\/models\/([^:/]+):(streamGenerateContent|generateContent|countTokens)$/.exec(
        path,
      );
    let conversation: Conversation | undefined;
    if (req.method === "POST" && /^(\/v1)?\/responses$/.test(path)) {
      call.api = "responses";
      conversation = parseResponses(body);
      call.stream = body.stream === true;
    } else if (req.method === "POST" && /^(\/v1)?\/chat\/completions$/.test(path)) {
      call.api = "chat";
      conversation = parseChat(body);
      call.stream = body.stream === true;
    } else if (req.method === "POST" && /^(\/v1)?\/messages\/count_tokens$/.test(path)) {
      call.api = "count_tokens";
      conversation = parseAnthropic(body);
    } else if (req.method === "POST" && /^(\/v1)?\/messages$/.test(path)) {
      call.api = "anthropic";
      conversation = parseAnthropic(body);
      call.stream = body.stream === true;
    } else if (req.method === "POST" && gemini) {
      call.api = gemini[2] === "countTokens" ? "count_tokens" : "gemini";
      conversation = parseGemini(body, decodeURIComponent(gemini[1] ?? ""));
      call.stream = gemini[2] === "streamGenerateContent";
    } else if (req.method === "GET" && /^(\/v1)?\/models$/.test(path)) {
      call.api = "models";
      return json(200, modelList());
    } else if (req.method === "GET" && /^\/(v1beta|v1)\/models$/.test(path)) {
      call.api = "models";
      return json(200, geminiModelList());
    } else if (req.method === "GET" && /^(\/v1)?\/models\/[^/]+$/.test(path)) {
      call.api = "models";
      const id = decodeURIComponent(path.split("/").at(-1) ?? "");
      return json(200, {
        id,
        object: "model",
        type: "model",
        created: 1_700_000_000,
        owned_by: "fake",
        display_name: id,
      });
    } else {
      return json(404, {
        error: { message: `fake model: no route for ${req.method} ${path}`, type: "not_found" },
      });
    }

    call.model = conversation.model;
    call.userTurns = userTurns(conversation);
    call.tools = conversation.tools.map((t) => t.name);
    call.cwd = cwdOf(conversation);
    call.afterToolResult = lastToolResult(conversation) !== undefined;
    const inTokens = tokens(raw);

    if (call.api === "count_tokens") {
      return json(200, gemini ? { totalTokens: inTokens } : { input_tokens: inTokens });
    }

    const scripted = conversation.tools.length > 0 && !call.afterToolResult ? script.shift() : undefined;
    const decision = scripted ? fromScript(scripted, conversation) : decide(conversation);
    call.reply = decision.reply;
    const firstByteDelayMs = decision.firstByteDelayMs ?? settings.firstByteDelayMs;
    const chunkDelayMs = decision.chunkDelayMs ?? settings.chunkDelayMs;
    let gone = false;
    res.on("close", () => {
      gone = true;
    });
    if (firstByteDelayMs > 0) await sleep(firstByteDelayMs);
    if (gone) return;

    const reply = decision.reply;
    if (reply.kind === "error") {
      const retry: Record<string, string> =
        reply.status === 429 ? { "retry-after": String(decision.retryAfterS ?? 1) } : {};
      return json(reply.status, errorBody(call.api, reply.status), retry);
    }
    const model = conversation.model ?? "fake-model";
    if (!call.stream) {
      if (call.api === "responses") {
        const item = responsesOutputItem(reply, nextId(reply.kind === "tool" ? "fc" : "msg"));
        return json(200, responsesObject(model, "completed", [item], inTokens, tokens(JSON.stringify(item))));
      }
      if (call.api === "chat") return json(200, chatObject(reply, model, inTokens));
      if (call.api === "anthropic") return json(200, anthropicObject(reply, model, inTokens));
      const parts = geminiParts(reply, Number.MAX_SAFE_INTEGER)[0] ?? [];
      return json(200, geminiChunk(parts, model, true, inTokens, tokens(JSON.stringify(parts))));
    }

    const sse = new SseWriter(res, chunkDelayMs);
    if (call.api === "gemini" && url.searchParams.get("alt") !== "sse") {
      // Without alt=sse the streaming endpoint answers one JSON array, written element by element.
      res.writeHead(200, { "content-type": "application/json" });
      const all = geminiParts(reply, settings.chunkChars);
      res.write("[");
      for (const [i, parts] of all.entries()) {
        if (i > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs);
        if (gone) return;
        const last = i === all.length - 1;
        res.write(
          `${i > 0 ? ",\n" : ""}${JSON.stringify(geminiChunk(parts, model, last, inTokens, last ? tokens(JSON.stringify(all)) : 0))}`,
        );
      }
      res.end("]");
      return;
    }
    sse.start();
    if (call.api === "responses") await streamResponses(sse, reply, model, inTokens, settings.chunkChars);
    else if (call.api === "chat") {
      const usage = obj(body.stream_options).include_usage === true;
      await streamChat(sse, reply, model, inTokens, settings.chunkChars, usage);
    } else if (call.api === "anthropic")
      await streamAnthropic(sse, reply, model, inTokens, settings.chunkChars);
    else {
      const all = geminiParts(reply, settings.chunkChars);
      for (const [i, parts] of all.entries()) {
        const last = i === all.length - 1;
        await sse.send(
          geminiChunk(parts, model, last, inTokens, last ? tokens(JSON.stringify(all)) : 0),
          undefined,
          i > 0,
        );
      }
      sse.end();
    }
  }

  const server = http.createServer((req, res) => {
    const peer = req.socket.remoteAddress ?? "";
    if (!LOOPBACK.has(peer)) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end("fake model: loopback only\n");
      return;
    }
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      raw += chunk;
    });
    req.on("end", () => {
      handle(req, res, raw).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `fake model bug: ${String(error)}` } }));
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** Every call received, in order (unknown paths too, with `api: "unknown"`). */
    calls,
    /** The calls that asked for an answer (not model lists or token counts). */
    completions: () =>
      calls.filter(
        (c) => c.api === "responses" || c.api === "chat" || c.api === "anthropic" || c.api === "gemini",
      ),
    /** Changes the delays of every later answer. */
    set(changes: Partial<FakeModelOptions>): void {
      Object.assign(settings, changes);
    },
    /** Queues answers for the next main requests (ones that offer tools and do not carry a tool result). */
    enqueue(...replies: ScriptedReply[]): void {
      script.push(...replies);
    },
    /** Resolves with the first call (past or future) that matches, or rejects after `timeoutMs`. */
    async waitForCall(match: (call: FakeModelCall) => boolean, timeoutMs = 30_000): Promise<FakeModelCall> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = calls.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`fake model: no matching call within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
