import { randomBytes } from "node:crypto";
import type { Context } from "telegraf";
import type { InlineKeyboardButton } from "telegraf/types";
import { UserFacingError } from "../domain/errors.js";
import { CATEGORY_LABELS, categoryLabel, type SessionSetting } from "../domain/session-settings.js";
import { type TopicKey, tapperKeyOf, threadParam, topicKeyId } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import type { Reply } from "./replies.js";
import { type ActionContext, type Router, withTopic } from "./router.js";

/** callback_data prefix of settings buttons: `s:<list nonce>:<setting index>:<value index>` (≤ 64 bytes). */
export const SETTINGS_CALLBACK_PREFIX = "s:";
/** Settings lists whose buttons are remembered (the newest). */
const MAX_LISTS = 1_000;
/** Buttons per keyboard row. */
const ROW = 3;

/** A settings list the bot posted: whose it is, for which session, and what its buttons mean. */
type SettingsList = { key: TopicKey; sessionId: string | null; settings: SessionSetting[]; only?: string };

/**
 * Registers /settings (every setting the agent offers, as buttons grouped by category, the current
 * value marked; `/settings <id> <value>` chooses directly), /mode and /effort (the same for the
 * categories `mode` and `thought_level`; `/mode <value>`), and their buttons. Only the user who
 * opened a list may tap it; a tap on a list of an older session, or of an option the agent no longer
 * offers, is refused in one callback answer and changes nothing.
 */
export function registerSettingsCommands(
  router: Router,
  deps: { runner: Runner; reply: Reply; logger: Logger },
): void {
  const { runner, reply, logger } = deps;
  const lists = new Map<string, SettingsList>();

  /** The topic's settings, or a one-line reply saying why they cannot be listed. */
  async function load(ctx: Context, key: TopicKey) {
    try {
      return await runner.settings(key);
    } catch (err) {
      logger.warn({ err }, "could not list the agent's settings");
      const reason = err instanceof UserFacingError ? err.message : "see the bot's log";
      await reply(ctx, `⚠️ Could not ask the agent for its settings (${reason}).`, threadParam(key.threadId));
      return undefined;
    }
  }

  const command = (only: string | undefined, noun: string) =>
    withTopic(async (ctx, topic, args) => {
      const extra = threadParam(topic.key.threadId);
      const loaded = await load(ctx, topic.key);
      if (!loaded) return;
      const shown = loaded.settings.filter((s) => only === undefined || s.category === only);
      if (shown.length === 0) {
        await reply(ctx, `This agent offers no ${noun} for its sessions.`, extra);
        return;
      }
      if (args !== "") {
        const words = args.split(/\s+/);
        // `/settings <id> <value>`; `/mode <value>` (the category's only setting, or its first).
        const [settingId, value] =
          only === undefined ? [words[0] ?? "", words.slice(1).join(" ")] : [shown[0]?.id ?? "", args];
        const refusal =
          value === ""
            ? "Usage: /settings <setting> <value>"
            : await runner.chooseSetting(topic.key, settingId, value);
        await reply(
          ctx,
          refusal ?? `✅ ${settingId} = ${value} for this topic; it applies from the next message on.`,
          extra,
        );
        return;
      }
      const nonce = randomBytes(6).toString("base64url");
      const list: SettingsList = {
        key: topic.key,
        sessionId: loaded.sessionId,
        settings: shown,
        ...(only ? { only } : {}),
      };
      await reply(ctx, listText(shown), {
        ...extra,
        reply_markup: { inline_keyboard: keyboard(nonce, shown) },
      });
      lists.set(nonce, list);
      if (lists.size > MAX_LISTS) lists.delete(lists.keys().next().value as string);
    });
  router.command("settings", command(undefined, "settings"));
  router.command("mode", command("mode", "modes"));
  router.command("effort", command("thought_level", "effort levels"));

  router.action(SETTINGS_CALLBACK_PREFIX, async (ctx: ActionContext, data: string) => {
    const [nonce = "", i = "", j = ""] = data.slice(SETTINGS_CALLBACK_PREFIX.length).split(":");
    const list = lists.get(nonce);
    const message = ctx.callbackQuery.message;
    if (!list || !message) return ctx.answerCbQuery("These settings are out of date; send /settings again.");
    const { key } = tapperKeyOf(message, ctx.from.id);
    if (topicKeyId(key) !== topicKeyId(list.key))
      return ctx.answerCbQuery("Only the user who opened these settings can change them.", {
        show_alert: true,
      });
    const setting = list.settings[Number(i)];
    const value = setting?.values[Number(j)];
    const now = await runner.settings(key).catch(() => undefined);
    if (!setting || !value || !now) return ctx.answerCbQuery("That option is no longer offered.");
    if (now.sessionId !== list.sessionId)
      return ctx.answerCbQuery("The session changed since; send /settings again.", { show_alert: true });
    const offered = now.settings.find((s) => s.id === setting.id);
    if (!offered?.values.some((v) => v.value === value.value))
      return ctx.answerCbQuery("That option is no longer offered.", { show_alert: true });
    const refusal = await runner.chooseSetting(key, setting.id, value.value);
    if (refusal) return ctx.answerCbQuery(refusal, { show_alert: true });
    await ctx.answerCbQuery(`${setting.name}: ${value.name}`);
    const updated = (await runner.settings(key)).settings.filter((s) =>
      list.settings.some((l) => l.id === s.id),
    );
    list.settings = updated;
    await ctx
      .editMessageText(listText(updated), { reply_markup: { inline_keyboard: keyboard(nonce, updated) } })
      .catch((err: unknown) => logger.debug({ err }, "could not update the settings list"));
  });
}

/** Settings in the order /settings shows them: known categories first, then the rest. */
function ordered(settings: SessionSetting[]): SessionSetting[] {
  const rank = (s: SessionSetting) => {
    const known = CATEGORY_LABELS.findIndex(([id]) => id === s.category);
    return known < 0 ? CATEGORY_LABELS.length : known;
  };
  return [...settings].sort((a, b) => rank(a) - rank(b));
}

function listText(settings: SessionSetting[]): string {
  const lines = ["⚙️ Settings of this topic (tap to change; they apply from the next message on):"];
  let category: string | undefined;
  for (const setting of ordered(settings)) {
    if (setting.category !== category) {
      category = setting.category;
      lines.push("", categoryLabel(category));
    }
    const current = setting.values.find((v) => v.value === setting.current)?.name ?? setting.current;
    lines.push(`• ${setting.name}: ${current}`);
  }
  return lines.join("\n");
}

function keyboard(nonce: string, settings: SessionSetting[]): InlineKeyboardButton[][] {
  const rows: InlineKeyboardButton[][] = [];
  for (const setting of ordered(settings)) {
    const i = settings.indexOf(setting);
    const buttons = setting.values.map((value, j) => ({
      text: `${value.value === setting.current ? "✅ " : ""}${setting.kind === "boolean" || setting.values.length <= 1 ? `${setting.name}: ` : ""}${value.name}`,
      callback_data: `${SETTINGS_CALLBACK_PREFIX}${nonce}:${i}:${j}`,
    }));
    for (let k = 0; k < buttons.length; k += ROW) rows.push(buttons.slice(k, k + ROW));
  }
  return rows;
}
