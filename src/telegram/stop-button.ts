import type { InlineKeyboardMarkup } from "telegraf/types";

/** callback_data prefix of the ⏹ Stop button under a running turn's message: `x:<turn id>`. */
export const STOP_CALLBACK_PREFIX = "x:";
/** callback_data prefix of the ⏩ Send now button under a "queued" note: `q:<turn id>`. */
export const SEND_NOW_CALLBACK_PREFIX = "q:";

/**
 * The ⏹ Stop button of one turn: it rides on the first message the turn's stream sends while the
 * turn runs (the answer, or the progress message), stays on that message's edits while the turn
 * runs, and goes with its first edit after the turn ended; when no such edit comes, `leftover`
 * names the message whose button must still be taken off (editMessageReplyMarkup). Sends and edits
 * ask it for their reply_markup when they go out.
 */
export function createStopButton() {
  let markup: InlineKeyboardMarkup | undefined;
  /** The message carrying the button (undefined until sent), and whether it shows it now. */
  let holder: number | undefined;
  let sending = false;
  let shows = false;
  return {
    /** The turn `turnId` runs: the next send may carry the button. */
    arm(turnId: number): void {
      markup = { inline_keyboard: [[{ text: "⏹ Stop", callback_data: `${STOP_CALLBACK_PREFIX}${turnId}` }]] };
    },
    /** The turn is over: no message carries the button from now on. */
    disarm(): void {
      markup = undefined;
    },
    /** The reply_markup of a sendMessage going out now (the button, for the turn's first message). */
    forSend(): InlineKeyboardMarkup | undefined {
      if (!markup || holder !== undefined || sending) return undefined;
      sending = true;
      return markup;
    },
    /** A send finished: `id` of the message, whether it carried the button (undefined: it failed). */
    sent(id: number | undefined, withButton: boolean): void {
      if (!withButton) return;
      sending = false;
      if (id !== undefined) {
        holder = id;
        shows = true;
      }
    },
    /** The reply_markup of an edit of message `id` going out now. */
    forEdit(id: number): InlineKeyboardMarkup | undefined {
      return id === holder ? markup : undefined;
    },
    /** An edit of `id` went out with (or without) the button. */
    edited(id: number, withButton: boolean): void {
      if (id === holder) shows = withButton;
    },
    /** After the turn: the message still showing the button, if any. */
    leftover(): number | undefined {
      return markup === undefined && shows ? holder : undefined;
    },
    /** The leftover button was taken off. */
    cleared(): void {
      shows = false;
    },
  };
}

/** A turn's Stop button; see {@link createStopButton}. */
export type StopButton = ReturnType<typeof createStopButton>;
