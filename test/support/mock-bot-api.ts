import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { richCallError } from "./mock-rich-messages.js";

/** One Bot API call the mock received (multipart uploads: fields as strings, files as their byte size). */
export type BotApiCall = {
  method: string;
  token: string;
  payload: Record<string, unknown>;
  at: number;
  /** What the mock answered: HTTP status and, for sent messages, the message id. */
  status?: number;
  messageId?: number;
};

/** The webhook state the mock keeps (Bot API WebhookInfo, plus fields tests may set). */
export type MockWebhookInfo = {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  max_connections?: number;
  allowed_updates?: string[];
  last_error_date?: number;
  last_error_message?: string;
};

/** A forced answer: HTTP status and Bot API body. */
export type InjectedReply = { status: number; body: Record<string, unknown> };

/** Forced answers tests inject: a flood wait (429 with retry_after, seconds) and a 502. */
export const INJECTED = {
  tooManyRequests: (retryAfter: number): InjectedReply => ({
    status: 429,
    body: {
      ok: false,
      error_code: 429,
      description: `Too Many Requests: retry after ${retryAfter}`,
      parameters: { retry_after: retryAfter },
    },
  }),
  badGateway: (): InjectedReply => ({
    status: 502,
    body: { ok: false, error_code: 502, description: "Bad Gateway" },
  }),
};

/** Telegram-like limits the mock enforces with 429 answers (all optional). */
export type Enforcement = {
  /** Least time between two edits (or drafts) of one message, ms. */
  editIntervalMs?: number;
  /** Most budgeted calls (send, edit, draft, photo, document) per chat in any 60 s window. */
  groupPerMinute?: number;
  privatePerMinute?: number;
};

const RICH_METHODS = new Set(["sendRichMessage", "sendRichMessageDraft", "editMessageText"]);
const BOT_USER = { id: 7000000001, is_bot: true, first_name: "Mock", username: "mock_test_bot" };
/** The methods Telegram's per-chat budgets count (sends, edits, drafts, photos, documents). */
export const BUDGETED_METHODS: ReadonlySet<string> = new Set([
  "sendMessage",
  "editMessageText",
  "sendMessageDraft",
  "sendRichMessage",
  "sendRichMessageDraft",
  "sendPhoto",
  "sendDocument",
]);

/**
 * A local mock of the Telegram Bot API on 127.0.0.1 (point Telegraf's `telegram.apiRoot` at `url`).
 * Records every call and answers getMe, sendMessage, editMessageText, editMessageReplyMarkup,
 * sendMessageDraft, sendChatAction, sendPhoto, sendDocument, getFile (and serves file downloads),
 * setWebhook, getWebhookInfo, deleteWebhook, setMyCommands (checking the commands and scope),
 * editForumTopic and createForumTopic (checking the name; created topics get a fresh thread id),
 * answerCallbackQuery and getUpdates; other
 * methods get a 404 "method not found", as the real API does. Tests can force answers with `inject`
 * or `fail`, and have Telegram's limits enforced with 429s (`enforce`).
 *
 * Webhook state: setWebhook stores url, max_connections and allowed_updates, deleteWebhook clears the
 * url, getWebhookInfo returns them (tests can add last_error_* with `setWebhookInfo`).
 * getUpdates (long polling) answers 409 while a webhook is set, as Telegram does; otherwise it returns
 * the updates queued with `queueUpdates` whose update_id is at least `offset` (smaller ones count as
 * confirmed and are dropped), waiting up to `timeout` seconds for one to arrive.
 */
export async function startMockBotApi(
  options: { enforce?: Enforcement; drafts?: boolean; richMessages?: boolean } = {},
) {
  const calls: BotApiCall[] = [];
  const files = new Map<string, Buffer>();
  const texts = new Map<
    number,
    { chatId: number; threadId: number | undefined; text: string; rich?: boolean }
  >();
  const lastEditAt = new Map<string, number>();
  const budgetLog = new Map<number, number[]>();
  let injector: ((call: BotApiCall) => InjectedReply | undefined) | undefined;
  let webhook: MockWebhookInfo = { url: "", has_custom_certificate: false, pending_update_count: 0 };
  let pending: Array<{ update_id: number }> = [];
  const waiters = new Set<() => void>();
  const failures = new Map<string, { error_code: number; description: string }>();
  /** Answers of a method (or "file", the downloads) held back this long, ms. */
  const delays = new Map<string, number>();
  /** Resolves when an update is queued, the client goes away, or `ms` pass. */
  const waitForUpdates = (res: http.ServerResponse, ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        res.off("close", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
      res.once("close", done);
    });
  let nextMessageId = 1000;
  /** Forum topic names by `<chat id>:<message_thread_id>` (createForumTopic, editForumTopic). */
  const topicNames = new Map<string, string>();
  let tooManyRequests = 0;

  const enforce = (method: string, payload: Record<string, unknown>): number | undefined => {
    const rules = options.enforce;
    if (!rules || !BUDGETED_METHODS.has(method)) return undefined;
    const chatId = Number(payload.chat_id);
    const now = Date.now();
    if (
      rules.editIntervalMs !== undefined &&
      (method === "editMessageText" || method === "sendMessageDraft" || method === "sendRichMessageDraft")
    ) {
      const target = `${chatId}:${method === "editMessageText" ? payload.message_id : `d${payload.draft_id}`}`;
      const last = lastEditAt.get(target);
      if (last !== undefined && now - last < rules.editIntervalMs)
        return Math.ceil((rules.editIntervalMs - (now - last)) / 1000);
      lastEditAt.set(target, now);
    }
    const perMinute = chatId > 0 ? rules.privatePerMinute : rules.groupPerMinute;
    if (perMinute !== undefined) {
      const log = (budgetLog.get(chatId) ?? []).filter((t) => now - t < 60_000);
      if (log.length >= perMinute) return Math.ceil((60_000 - (now - (log[0] ?? now))) / 1000);
      log.push(now);
      budgetLog.set(chatId, log);
    }
    return undefined;
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const reply = (status: number, answer: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    };
    const download = /^\/file\/bot[^/]+\/(.+)$/.exec(req.url ?? "");
    if (download) {
      if (delays.has("file")) await sleep(delays.get("file") ?? 0);
      if (res.destroyed) return;
      const data = files.get(decodeURIComponent(download[1] ?? ""));
      if (!data) return reply(404, { ok: false, error_code: 404, description: "Not Found" });
      res.writeHead(200, { "content-type": "application/octet-stream" });
      return res.end(data);
    }
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? "");
    if (!match) return reply(404, { ok: false, error_code: 404, description: "Not Found" });
    const [, token = "", method = ""] = match;
    const payload = await parsePayload(req.headers["content-type"] ?? "", body);
    const call: BotApiCall = { method, token, payload, at: Date.now() };
    calls.push(call);
    const answer = (status: number, result: Record<string, unknown>) => {
      call.status = status;
      reply(status, result);
    };
    const ok = (result: unknown) => answer(200, { ok: true, result });

    if (delays.has(method)) await sleep(delays.get(method) ?? 0);
    const forced = injector?.(call);
    if (forced) return answer(forced.status, forced.body);
    const failure = failures.get(method);
    if (failure) return answer(failure.error_code, { ok: false, ...failure });
    const retryAfter = enforce(method, payload);
    if (retryAfter !== undefined) {
      tooManyRequests += 1;
      return answer(429, {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      });
    }
    const richError = RICH_METHODS.has(method) ? richCallError(method, payload) : undefined;
    if (richError) return answer(400, { ok: false, error_code: 400, description: richError });
    const richCall =
      method === "sendRichMessage" || method === "sendRichMessageDraft" || payload.rich_message !== undefined;
    if (options.richMessages === false && richCall)
      return answer(400, {
        ok: false,
        error_code: 400,
        description: "Bad Request: rich messages are not supported",
      });
    const chatId = Number(payload.chat_id);
    const threadId = payload.message_thread_id === undefined ? undefined : Number(payload.message_thread_id);
    const message = (extra: Record<string, unknown>) => {
      nextMessageId += 1;
      call.messageId = nextMessageId;
      return {
        message_id: nextMessageId,
        from: BOT_USER,
        chat: { id: chatId, type: chatId < 0 ? "supergroup" : "private" },
        date: Math.floor(Date.now() / 1000),
        ...(threadId === undefined ? {} : { message_thread_id: threadId, is_topic_message: true }),
        ...extra,
      };
    };
    switch (method) {
      case "getMe":
        return ok(BOT_USER);
      case "sendMessage": {
        const sent = message({ text: payload.text });
        texts.set(sent.message_id, { chatId, threadId, text: String(payload.text) });
        return ok(sent);
      }
      case "sendRichMessage": {
        const markdown = String((payload.rich_message as { markdown?: string }).markdown ?? "");
        const sent = message({ rich_message: { markdown } });
        texts.set(sent.message_id, { chatId, threadId, text: markdown, rich: true });
        return ok(sent);
      }
      case "sendRichMessageDraft":
        return ok(true);
      case "deleteMessage": {
        if (!texts.delete(Number(payload.message_id)))
          return answer(400, {
            ok: false,
            error_code: 400,
            description: "Bad Request: message to delete not found",
          });
        return ok(true);
      }
      case "sendPhoto":
        return ok(message({ photo: [{ file_id: "p", file_unique_id: "p", width: 1, height: 1 }] }));
      case "sendDocument":
        return ok(message({ document: { file_id: "d", file_unique_id: "d" } }));
      case "editMessageText": {
        const known = texts.get(Number(payload.message_id));
        if (!known)
          return answer(400, {
            ok: false,
            error_code: 400,
            description: "Bad Request: message to edit not found",
          });
        const rich = payload.rich_message as { markdown?: string } | undefined;
        const newText = rich ? String(rich.markdown ?? "") : String(payload.text);
        if (known.text === newText && (known.rich ?? false) === (rich !== undefined)) {
          return answer(400, {
            ok: false,
            error_code: 400,
            description:
              "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
          });
        }
        known.text = newText;
        known.rich = rich !== undefined;
        return ok({
          message_id: payload.message_id,
          chat: { id: chatId },
          ...(rich ? { rich_message: rich } : { text: newText }),
        });
      }
      case "sendMessageDraft":
        if (options.drafts === false)
          return answer(404, { ok: false, error_code: 404, description: "Not Found: method not found" });
        return ok(true);
      case "getFile": {
        const fileId = String(payload.file_id);
        const data = files.get(`files/${fileId}`);
        if (!data)
          return answer(400, { ok: false, error_code: 400, description: "Bad Request: invalid file_id" });
        return ok({
          file_id: fileId,
          file_unique_id: fileId,
          file_size: data.length,
          file_path: `files/${fileId}`,
        });
      }
      case "editMessageReplyMarkup":
        return ok({ message_id: payload.message_id, chat: { id: chatId } });
      case "setMyCommands": {
        // Bot API setMyCommands: 0-100 commands of 1-32 [a-z0-9_] with 1-256 character descriptions;
        // scope, when given, a BotCommandScope (a chat scope needs chat_id).
        const problem = setMyCommandsProblem(payload);
        if (problem)
          return answer(400, { ok: false, error_code: 400, description: `Bad Request: ${problem}` });
        return ok(true);
      }
      case "editForumTopic": {
        // Bot API editForumTopic: chat_id, message_thread_id; name 0-128 characters (optional).
        const name = payload.name;
        if (!Number.isInteger(Number(payload.message_thread_id)) || payload.chat_id === undefined)
          return answer(400, {
            ok: false,
            error_code: 400,
            description: "Bad Request: message thread not found",
          });
        if (name !== undefined && (typeof name !== "string" || name.length > 128))
          return answer(400, { ok: false, error_code: 400, description: "Bad Request: TOPIC_NAME_INVALID" });
        if (typeof name === "string") topicNames.set(`${chatId}:${payload.message_thread_id}`, name);
        return ok(true);
      }
      case "createForumTopic": {
        // Bot API createForumTopic: chat_id, name 1-128 characters; answers a ForumTopic.
        const name = payload.name;
        if (typeof name !== "string" || name.length < 1 || name.length > 128)
          return answer(400, { ok: false, error_code: 400, description: "Bad Request: TOPIC_NAME_INVALID" });
        nextMessageId += 1;
        topicNames.set(`${chatId}:${nextMessageId}`, name);
        return ok({ message_thread_id: nextMessageId, name, icon_color: 7322096 });
      }
      case "sendChatAction":
      case "answerCallbackQuery":
        return ok(true);
      case "setWebhook":
        webhook = {
          ...webhook,
          url: String(payload.url),
          max_connections: (payload.max_connections as number | undefined) ?? 40,
          allowed_updates: payload.allowed_updates as string[] | undefined,
        };
        return ok(true);
      case "deleteWebhook":
        webhook = { url: "", has_custom_certificate: false, pending_update_count: 0 };
        if (payload.drop_pending_updates === true) pending = [];
        return ok(true);
      case "getWebhookInfo":
        return ok({ ...webhook, pending_update_count: webhook.pending_update_count + pending.length });
      case "getUpdates": {
        if (webhook.url !== "") {
          return answer(409, {
            ok: false,
            error_code: 409,
            description:
              "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
          });
        }
        const offset = Number(payload.offset ?? 0);
        pending = pending.filter((u) => u.update_id >= offset);
        if (pending.length === 0) await waitForUpdates(res, Number(payload.timeout ?? 0) * 1000);
        if (res.destroyed) return;
        return ok(pending.filter((u) => u.update_id >= offset).slice(0, Number(payload.limit ?? 100)));
      }
      default:
        return answer(404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const api = {
    url: `http://127.0.0.1:${port}`,
    calls,
    /** Forum topic names by `<chat id>:<message_thread_id>` (createForumTopic, editForumTopic). */
    topicNames,
    /** 429 answers the enforcement gave. */
    get tooManyRequests() {
      return tooManyRequests;
    },
    /** Forces answers: `fn` sees each call and returns a reply, or undefined to answer normally. */
    inject(fn: ((call: BotApiCall) => InjectedReply | undefined) | undefined): void {
      injector = fn;
    },
    /** The webhook state getWebhookInfo reports (without the pending count of queued updates). */
    get webhook(): MockWebhookInfo {
      return webhook;
    },
    /** Merges fields into the webhook state, e.g. last_error_date and last_error_message. */
    setWebhookInfo(info: Partial<MockWebhookInfo>): void {
      webhook = { ...webhook, ...info };
    },
    /** Queues Updates for getUpdates (long polling) and wakes a waiting poll. */
    queueUpdates(...updates: Array<{ update_id: number }>): void {
      pending.push(...updates);
      for (const wake of [...waiters]) wake();
    },
    /** Makes every later call of `method` fail with this Bot API error. */
    fail(method: string, errorCode: number, description: string): void {
      failures.set(method, { error_code: errorCode, description });
    },
    /** Holds back the answers of `method` ("file": the file downloads) by `ms`. */
    slow(method: string, ms: number): void {
      delays.set(method, ms);
    },
    /** Makes a file downloadable through getFile + the file URL. */
    addFile(fileId: string, data: Buffer): void {
      files.set(`files/${fileId}`, data);
    },
    /** Calls of one method, optionally only those whose payload matches `where`. */
    callsOf(method: string, where: Record<string, unknown> = {}): BotApiCall[] {
      return calls.filter(
        (c) => c.method === method && Object.entries(where).every(([k, v]) => c.payload[k] === v),
      );
    },
    /** The messages sent into a topic (by message_thread_id), in order, each with its latest text after edits. */
    messagesIn(
      threadId: number | undefined,
      chatId?: number,
    ): Array<{ messageId: number; text: string; rich: boolean }> {
      return [...texts.entries()]
        .filter(([, m]) => m.threadId === threadId && (chatId === undefined || m.chatId === chatId))
        .map(([messageId, m]) => ({ messageId, text: m.text, rich: m.rich ?? false }));
    },
    /** Waits until `predicate` holds for some recorded call; returns that call. */
    async waitFor(predicate: (call: BotApiCall) => boolean, timeoutMs = 15_000): Promise<BotApiCall> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = calls.find((c) => c.status !== undefined && predicate(c));
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching Bot API call within ${timeoutMs} ms; got: ${JSON.stringify(calls.map((c) => [c.method, c.payload]))}`,
          );
        }
        await sleep(20);
      }
    },
    /** Waits until `condition` holds (polling every 20 ms). */
    async until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) {
          throw new Error(
            `condition not met within ${timeoutMs} ms; calls: ${JSON.stringify(calls.map((c) => [c.method, c.payload]))}`,
          );
        }
        await sleep(20);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const wake of [...waiters]) wake();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}

/** The mock's handle, as returned by {@link startMockBotApi}. */
export type MockBotApi = Awaited<ReturnType<typeof startMockBotApi>>;

const SCOPES = new Set([
  "default",
  "all_private_chats",
  "all_group_chats",
  "all_chat_administrators",
  "chat",
  "chat_administrators",
  "chat_member",
]);

/** Why a setMyCommands payload breaks the Bot API's rules, or undefined when it keeps them. */
function setMyCommandsProblem(payload: Record<string, unknown>): string | undefined {
  const commands = payload.commands as Array<{ command?: unknown; description?: unknown }> | undefined;
  if (!Array.isArray(commands) || commands.length > 100) return "commands must be an array of at most 100";
  for (const c of commands) {
    if (typeof c.command !== "string" || !/^[a-z0-9_]{1,32}$/.test(c.command)) return "BOT_COMMAND_INVALID";
    if (typeof c.description !== "string" || c.description.length < 1 || c.description.length > 256)
      return "command description must be 1-256 characters";
  }
  const scope = payload.scope as { type?: unknown; chat_id?: unknown } | undefined;
  if (scope !== undefined) {
    if (typeof scope.type !== "string" || !SCOPES.has(scope.type)) return "unknown scope type";
    if (
      scope.type.startsWith("chat") &&
      typeof scope.chat_id !== "number" &&
      typeof scope.chat_id !== "string"
    )
      return "chat_id of the scope is required";
  }
  return undefined;
}

async function parsePayload(contentType: string, body: Buffer): Promise<Record<string, unknown>> {
  if (body.length === 0) return {};
  if (contentType.startsWith("multipart/form-data")) {
    const form = await new Response(body, { headers: { "content-type": contentType } }).formData();
    const payload: Record<string, unknown> = {};
    for (const [name, value] of form.entries()) {
      if (typeof value === "string") {
        payload[name] = /^-?\d+$/.test(value) ? Number(value) : value;
      } else {
        payload[name] = { filename: value.name, size: value.size };
      }
    }
    return payload;
  }
  return JSON.parse(body.toString("utf8")) as Record<string, unknown>;
}
