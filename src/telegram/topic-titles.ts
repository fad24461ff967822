import type { Telegram } from "telegraf";
import { NO_THREAD, type TopicKey } from "../domain/topic-key.js";
import type { Logger } from "../logger.js";
import type { Outbox } from "./outbox.js";

/** Bot API editForumTopic: a topic name has 1-128 characters. */
const NAME_MAX = 128;
/** Markup a title must not carry: HTML tags, Markdown emphasis, code and links. */
const MARKUP = /<\/?[a-z][^>]*>|\*\*|__|`|\[[^\]]*\]\([^)]*\)/i;

/**
 * Gives forum topics the agent's session titles (ACP session_info_update `title`) with Bot API
 * editForumTopic, where the bot may manage topics: only in forum topics (never the General topic or
 * a chat without topics), only when the title changed. A title with markup or over 128 characters
 * is refused with one line for the topic (once per title) and renames nothing. A failed rename (no
 * right to manage topics) is logged once per chat, and that chat is not tried again in this run.
 */
export function createTopicTitles(deps: { telegram: Telegram; outbox: Outbox; logger: Logger }) {
  const applied = new Map<string, string>();
  const refused = new Set<string>();
  const failedChats = new Set<number>();
  return {
    /**
     * Renames the key's forum topic to `title`; `notice` tells the topic why not, when the title is
     * refused. Never throws.
     */
    rename(key: TopicKey, title: string, notice: (line: string) => void): void {
      if (key.threadId === NO_THREAD || failedChats.has(key.chatId)) return;
      const topic = `${key.chatId}:${key.threadId}`;
      const name = title.replace(/\s+/g, " ").trim();
      if (name === "" || applied.get(topic) === name) return;
      const problem = MARKUP.test(name)
        ? "it contains markup"
        : name.length > NAME_MAX
          ? `it has ${name.length} characters (a topic name has at most ${NAME_MAX})`
          : undefined;
      if (problem) {
        if (!refused.has(`${topic}|${name}`)) {
          refused.add(`${topic}|${name}`);
          notice(`⚠️ The agent's title for this session was not given to the topic: ${problem}.`);
        }
        return;
      }
      applied.set(topic, name);
      void deps.outbox
        .send(key.chatId, () => deps.telegram.editForumTopic(key.chatId, key.threadId, { name }), {
          label: "editForumTopic",
          topic: key.threadId,
        })
        .catch((err: unknown) => {
          applied.delete(topic);
          if (failedChats.has(key.chatId)) return;
          failedChats.add(key.chatId);
          deps.logger.warn(
            { err, chatId: key.chatId },
            "editForumTopic failed (can the bot manage topics here?); session titles are not given to this chat's topics",
          );
        });
    },
  };
}

/** The topic renamer; see {@link createTopicTitles}. */
export type TopicTitles = ReturnType<typeof createTopicTitles>;
