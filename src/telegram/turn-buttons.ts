import type { Telegram } from "telegraf";
import { type TopicKey, threadParam } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Step } from "./answer-stream.js";
import type { Outbox } from "./outbox.js";
import { createStopButton, SEND_NOW_CALLBACK_PREFIX } from "./stop-button.js";

/** The "queued" note of a prompt that waits for its topic's running turn. */
export const QUEUED_NOTE = "⏳ Queued: the agent is still answering the previous message.";

/**
 * The buttons of one turn's stream: its ⏹ Stop button (see createStopButton), and the ⏩ Send now
 * button of its "queued" note, posted when the prompt has to wait for the topic's running turn and
 * taken off when the turn starts. `early` gives the note's steps (before the answer), `last` the
 * removal of a Stop button no final edit took off.
 */
export function createTurnButtons(deps: {
  telegram: Telegram;
  outbox: Outbox;
  key: TopicKey;
  logger: Logger;
}) {
  const { telegram, outbox, key, logger } = deps;
  const chatId = key.chatId;
  const stop = createStopButton();
  let note: { turnId: number; messageId?: number; posted: boolean; started: boolean } | undefined;
  const clearMarkup = (messageId: number, label: string) =>
    outbox
      .send(
        chatId,
        () => telegram.editMessageReplyMarkup(chatId, messageId, undefined, { inline_keyboard: [] }),
        { label, topic: key.threadId },
      )
      .then(
        () => {},
        (err: unknown) => logger.debug({ err, chatId }, "could not take buttons off a message"),
      );

  return {
    stop,
    /** The prompt of turn `turnId` waits for the topic's running turn: post the note with Send now. */
    queued(turnId: number): void {
      note ??= { turnId, posted: false, started: false };
    },
    /** The turn starts: Stop may ride on its first message; the note loses its button. */
    start(turnId: number): void {
      stop.arm(turnId);
      if (note) note.started = true;
    },
    /** The next button step that goes before the answer, if any. */
    early(): Step | undefined {
      const current = note;
      if (!current) return undefined;
      if (!current.posted && !current.started) {
        current.posted = true;
        return {
          run: async () => {
            const sent = await outbox.send(
              chatId,
              () =>
                telegram.sendMessage(chatId, QUEUED_NOTE, {
                  ...threadParam(key.threadId),
                  reply_markup: {
                    inline_keyboard: [
                      [
                        {
                          text: "⏩ Send now",
                          callback_data: `${SEND_NOW_CALLBACK_PREFIX}${current.turnId}`,
                        },
                      ],
                    ],
                  },
                }),
              { label: "queued note", topic: key.threadId },
            );
            current.messageId = sent.message_id;
          },
        };
      }
      if (current.started && current.messageId !== undefined) {
        const messageId = current.messageId;
        note = undefined;
        return { run: () => clearMarkup(messageId, "queued note done") };
      }
      if (current.started && !current.posted) note = undefined;
      return undefined;
    },
    /** After the turn: the removal of a Stop button still showing, if any. */
    last(): Step | undefined {
      const messageId = stop.leftover();
      if (messageId === undefined) return undefined;
      stop.cleared();
      return { run: () => clearMarkup(messageId, "stop button off") };
    },
  };
}
