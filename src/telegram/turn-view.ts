import type { SessionUpdate } from "@agentclientprotocol/sdk";
import type { Telegram } from "telegraf";
import type { Logger } from "../logger.js";
import type { TurnOutcome, TurnView } from "../runner.js";
import type { PermissionPrompts } from "./permission-prompts.js";
import { splitText } from "./split-text.js";

/** How often the typing action is renewed while a turn runs, ms (Telegram shows it for ~5 s). */
const TYPING_INTERVAL_MS = 4_000;

/** The text posted for a finished turn. */
export function outcomeText(outcome: TurnOutcome): string {
  switch (outcome.kind) {
    case "cancelled":
      return "⏹ Cancelled.";
    case "failed":
      return `⚠️ The agent could not answer: ${outcome.reason}.`;
    case "answered": {
      const { text: raw, stopReason } = outcome.result;
      const text = raw.trim();
      if (stopReason === "end_turn")
        return text === "" ? "(The agent finished without a text answer.)" : text;
      const note = `(Stopped: ${stopReason.replaceAll("_", " ")}.)`;
      return text === "" ? note : `${text}\n\n${note}`;
    }
  }
}

/**
 * A {@link TurnView} that posts into one chat and forum topic through the Bot API (sendMessage,
 * sendChatAction), passing the topic's message_thread_id itself, since the turn runs detached from
 * Telegraf's context. Posts go out one at a time, in order; a failed post is logged, never thrown.
 */
export function createTurnView(deps: {
  telegram: Telegram;
  chatId: number;
  messageThreadId: number | undefined;
  ownerUserId: number;
  prompts: PermissionPrompts;
  logger: Logger;
}): TurnView {
  const { telegram, chatId, logger } = deps;
  const thread = deps.messageThreadId === undefined ? {} : { message_thread_id: deps.messageThreadId };
  let chain = Promise.resolve();
  const post = (call: () => Promise<unknown>) => {
    chain = chain.then(call).then(
      () => {},
      (err: unknown) => logger.error({ err, chatId }, "could not post to the topic"),
    );
    return chain;
  };
  const send = (text: string) =>
    post(async () => {
      for (const part of splitText(text)) {
        await telegram.sendMessage(chatId, part, { ...thread, link_preview_options: { is_disabled: true } });
      }
    });
  const typing = () => post(() => telegram.sendChatAction(chatId, "typing", thread));
  let typingTimer: NodeJS.Timeout | undefined;

  return {
    start() {
      void typing();
      typingTimer = setInterval(() => void typing(), TYPING_INTERVAL_MS);
    },
    update(_update: SessionUpdate) {
      // This view posts the answer once, at the end (streaming is the renderer's job).
    },
    notice: send,
    askPermission: (request, signal) =>
      deps.prompts.ask(
        { chatId, messageThreadId: deps.messageThreadId, ownerUserId: deps.ownerUserId },
        request,
        signal,
      ),
    finish(outcome) {
      clearInterval(typingTimer);
      return send(outcomeText(outcome));
    },
  };
}
