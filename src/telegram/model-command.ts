import type { Context } from "telegraf";
import type { InlineKeyboardButton } from "telegraf/types";
import type { AgentModels } from "../domain/agent-models.js";
import { UserFacingError } from "../domain/errors.js";
import { type TopicKey, tapperKeyOf, threadParam } from "../domain/topic-key.js";
import { AUTO_MODEL } from "../domain/turn.js";
import type { Logger } from "../logger.js";
import type { Runner } from "../runner/types.js";
import type { Reply } from "./replies.js";
import { type ActionContext, type Router, withTopic } from "./router.js";

/** callback_data prefix of /model buttons: `m:<model id>` or `mi:<index>` for long ids (≤ 64 bytes). */
export const MODEL_CALLBACK_PREFIX = "m:";
const MODEL_INDEX_PREFIX = "mi:";

/**
 * Registers /model (list the agent's models as buttons, or `/model <id>` to choose one for the
 * topic) and its buttons. The models come from the runner (the latest offer, or the agent started
 * once to ask).
 */
export function registerModelCommand(
  router: Router,
  deps: { runner: Runner; reply: Reply; logger: Logger },
): void {
  const { runner, reply, logger } = deps;

  async function chooseModel(
    ctx: Context,
    key: TopicKey,
    requested: string,
    models: AgentModels | undefined,
  ): Promise<boolean> {
    const valid = [AUTO_MODEL, ...(models?.available.map((m) => m.id) ?? [])];
    const extra = threadParam(key.threadId);
    if (!valid.includes(requested)) {
      await reply(ctx, `Unknown model "${requested}". Valid: ${valid.join(", ")}.`, extra);
      return false;
    }
    await runner.setModel(key, requested);
    const label = requested === AUTO_MODEL ? "auto (the agent's default)" : requested;
    await reply(ctx, `✅ Model for this topic: ${label}. It applies from the next message on.`, extra);
    return true;
  }

  router.command(
    "model",
    withTopic(async (ctx, topic, args) => {
      const extra = threadParam(topic.key.threadId);
      let models: AgentModels | undefined;
      try {
        models = await runner.availableModels();
      } catch (err) {
        logger.warn({ err }, "could not list the agent's models");
        const reason = err instanceof UserFacingError ? err.message : "see the bot's log";
        await reply(ctx, `⚠️ Could not ask the agent for its models (${reason}).`, extra);
        return;
      }
      if (args !== "") {
        await chooseModel(ctx, topic.key, args, models);
        return;
      }
      const current = await runner.model(topic.key);
      if (!models || models.available.length === 0) {
        await reply(
          ctx,
          `This agent offers no model choice; it uses its default. Current setting: ${current}.`,
          extra,
        );
        return;
      }
      await reply(ctx, modelListText(models, current), {
        ...extra,
        reply_markup: { inline_keyboard: modelKeyboard(models, current) },
      });
    }),
  );

  const onModelTap = async (ctx: ActionContext, data: string) => {
    const message = ctx.callbackQuery.message;
    if (!message) return ctx.answerCbQuery("This message is too old.", { show_alert: true });
    const { key } = tapperKeyOf(message, ctx.from.id);
    let models: AgentModels | undefined;
    try {
      models = await runner.availableModels();
    } catch (err) {
      logger.warn({ err }, "could not list the agent's models");
    }
    const requested = data.startsWith(MODEL_INDEX_PREFIX)
      ? models?.available[Number(data.slice(MODEL_INDEX_PREFIX.length))]?.id
      : data.slice(MODEL_CALLBACK_PREFIX.length);
    if (requested === undefined)
      return ctx.answerCbQuery("That model is no longer offered.", { show_alert: true });
    const ok = await chooseModel(ctx, key, requested, models);
    await ctx.answerCbQuery(ok ? `Model: ${requested}` : "Unknown model");
    if (ok && models) {
      await ctx
        .editMessageText(modelListText(models, requested), {
          reply_markup: { inline_keyboard: modelKeyboard(models, requested) },
        })
        .catch((err: unknown) => logger.debug({ err }, "could not update the model list"));
    }
  };
  router.action(MODEL_INDEX_PREFIX, onModelTap);
  router.action(MODEL_CALLBACK_PREFIX, onModelTap);
}

function modelListText(models: AgentModels, current: string): string {
  const lines = [AUTO_MODEL, ...models.available.map((m) => m.id)].map((id) => {
    const choice = models.available.find((m) => m.id === id);
    const name =
      id === AUTO_MODEL
        ? "auto — the agent's default"
        : choice && choice.name !== id
          ? `${id} — ${choice.name}`
          : id;
    return `${id === current ? "✅" : "▫️"} ${name}`;
  });
  return `Models (tap one, or send /model <id>):\n${lines.join("\n")}`;
}

function modelKeyboard(models: AgentModels, current: string): InlineKeyboardButton[][] {
  const ids = [AUTO_MODEL, ...models.available.map((m) => m.id)];
  return ids.map((id) => {
    const data = `${MODEL_CALLBACK_PREFIX}${id}`;
    const index = models.available.findIndex((m) => m.id === id);
    const callback_data = Buffer.byteLength(data) <= 64 || index < 0 ? data : `${MODEL_INDEX_PREFIX}${index}`;
    return [{ text: `${id === current ? "✅ " : ""}${id}`, callback_data }];
  });
}
