import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import type { Router } from "./router.js";
import { SEND_NOW_CALLBACK_PREFIX, STOP_CALLBACK_PREFIX } from "./stop-button.js";

/**
 * Registers the taps on ⏹ Stop (`x:<turn id>`, under a running turn's message: /cancel for its
 * topic) and ⏩ Send now (`q:<turn id>`, under a "queued" note: cancels the running turn so the
 * queued message goes next). Each is answered with the runner's one line; a tap on a turn that is
 * over, or by another user, changes nothing.
 */
export function registerTurnButtons(router: Router, deps: { runner: Runner; logger: Logger }): void {
  const buttons = [
    { prefix: STOP_CALLBACK_PREFIX, act: deps.runner.stopTurn, stale: "This turn is over." },
    {
      prefix: SEND_NOW_CALLBACK_PREFIX,
      act: deps.runner.sendNow,
      stale: "This message is no longer waiting.",
    },
  ];
  for (const { prefix, act, stale } of buttons) {
    router.action(prefix, async (ctx, data) => {
      const turnId = Number(data.slice(prefix.length));
      const answer = Number.isInteger(turnId) ? await act(turnId, ctx.from.id) : stale;
      deps.logger.info({ turnId, button: prefix, answer }, "turn button tapped");
      await ctx.answerCbQuery(answer);
    });
  }
}
