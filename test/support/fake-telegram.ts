import type { SessionUpdate } from "@agentclientprotocol/sdk";
import pino from "pino";
import type { Telegram } from "telegraf";
import { vi } from "vitest";
import type { TurnView } from "../../src/runner/types.js";
import type { RichMessagesMode } from "../../src/telegram/answer-delivery.js";
import type { DraftSupport } from "../../src/telegram/formatted-send.js";
import type { Outbox } from "../../src/telegram/outbox.js";
import type { PermissionPrompts } from "../../src/telegram/permission-prompts.js";
import { createStreamRenderer } from "../../src/telegram/stream-renderer.js";

/** One call the fake Telegram recorded, at fake time. */
export type Call = {
  method: string;
  at: number;
  chatId: number;
  messageId?: number;
  text?: string;
  extra?: Record<string, unknown>;
};

/** A fake Telegram that records calls at fake time; `fail` can make a call throw a Bot API error. */
export function fakeTelegram(fail?: (call: Call) => { error_code: number; description: string } | undefined) {
  const calls: Call[] = [];
  let nextId = 1;
  const record = (call: Call) => {
    calls.push(call);
    const failure = fail?.(call);
    if (failure) {
      throw Object.assign(new Error(`${failure.error_code}: ${failure.description}`), {
        response: { ok: false, ...failure },
      });
    }
  };
  const telegram = {
    async sendMessage(chatId: number, text: string, extra: Record<string, unknown>) {
      const messageId = nextId++;
      record({ method: "sendMessage", at: Date.now(), chatId, messageId, text, extra });
      return { message_id: messageId };
    },
    async editMessageText(
      chatId: number,
      messageId: number,
      _inline: unknown,
      text: string,
      extra: Record<string, unknown>,
    ) {
      record({ method: "editMessageText", at: Date.now(), chatId, messageId, text, extra });
      return true;
    },
    async callApi(method: string, payload: Record<string, unknown> & { chat_id: number; text?: string }) {
      const rich = payload.rich_message as { markdown?: string } | undefined;
      const messageId = method === "sendRichMessage" ? nextId++ : (payload.message_id as number | undefined);
      const text = payload.text ?? rich?.markdown;
      record({ method, at: Date.now(), chatId: payload.chat_id, messageId, text, extra: payload });
      return method === "sendRichMessage" ? { message_id: messageId } : true;
    },
    async deleteMessage(chatId: number, messageId: number) {
      record({ method: "deleteMessage", at: Date.now(), chatId, messageId });
      return true;
    },
    async sendChatAction() {
      return true;
    },
  };
  return { telegram: telegram as unknown as Telegram, calls };
}

const passthrough = {
  send: (_chatId: number, call: () => Promise<unknown>) => call(),
  promote: () => {},
} as unknown as Outbox;
/** An agent_message_chunk of `text`. */
export const chunk = (text: string): SessionUpdate => ({
  sessionUpdate: "agent_message_chunk",
  content: { type: "text", text },
});
/** A turn outcome: answered, end_turn. */
export const answered = {
  kind: "answered",
  result: { sessionId: "s", setup: "new", stopReason: "end_turn", text: "" },
} as const;

/** A stream renderer on `telegram` for a forum topic (or a private chat), outbox passing calls through. */
export function renderer(
  telegram: Telegram,
  options: {
    privateChat?: boolean;
    drafts?: DraftSupport;
    showThoughts?: boolean;
    firstSendMs?: number;
    richMessages?: RichMessagesMode;
    richDrafts?: DraftSupport;
  } = {},
) {
  const view: TurnView = createStreamRenderer({
    telegram,
    outbox: passthrough,
    key: { chatId: options.privateChat ? 42 : -100, threadId: options.privateChat ? 0 : 7, userId: 42 },
    privateChat: options.privateChat ?? false,
    drafts: options.drafts ?? { available: true },
    richMessages: options.richMessages ?? "off",
    richDrafts: options.richDrafts ?? { available: true },
    editIntervalMs: 1500,
    firstSendMs: options.firstSendMs ?? 0,
    pageLimit: 3900,
    maxAnswerChars: 1_000_000,
    showThoughts: options.showThoughts ?? false,
    prompts: {} as PermissionPrompts,
    logger: pino({ level: "silent" }),
  });
  view.start({ workspacePath: "/tmp" });
  return view;
}

/** Feeds `text` in chunks of `size` every `everyMs` of fake time. */
export async function feed(view: TurnView, text: string, size: number, everyMs: number) {
  for (let i = 0; i < text.length; i += size) {
    view.update(chunk(text.slice(i, i + size)));
    await vi.advanceTimersByTimeAsync(everyMs);
  }
}
