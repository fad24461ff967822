import { type TopicKey, topicKeyId } from "../domain/topic-key.js";

/** Telegram cuts long pasted text into messages of up to 4096 characters; a part this long is likely one. */
export const SPLIT_PART_MIN_LENGTH = 3_500;

type Buffered = { parts: string[]; timer: NodeJS.Timeout; submit: (text: string) => void };

/**
 * Joins the parts of a long pasted message back into one prompt. Telegram splits text over 4096
 * characters into several messages that arrive within moments; a message at least
 * {@link SPLIT_PART_MIN_LENGTH} long opens a window of `debounceMs` in which further messages of the
 * same key are appended (each extends the window). Other messages go through at once, so short
 * prompts never wait.
 */
export function createPromptIntake(options: { debounceMs: number }) {
  const buffers = new Map<string, Buffered>();

  const flush = (id: string) => {
    const buffered = buffers.get(id);
    if (!buffered) return;
    buffers.delete(id);
    clearTimeout(buffered.timer);
    buffered.submit(buffered.parts.join("\n"));
  };

  return {
    /**
     * Takes one text message; `submit` is called with the whole prompt, at once or when the window
     * closes. While a window is open for the key, the first message's `submit` is used.
     */
    add(key: TopicKey, text: string, submit: (text: string) => void): void {
      const id = topicKeyId(key);
      const open = buffers.get(id);
      if (open) {
        open.parts.push(text);
        clearTimeout(open.timer);
        open.timer = setTimeout(() => flush(id), options.debounceMs);
        return;
      }
      if (options.debounceMs <= 0 || text.length < SPLIT_PART_MIN_LENGTH) {
        submit(text);
        return;
      }
      buffers.set(id, { parts: [text], submit, timer: setTimeout(() => flush(id), options.debounceMs) });
    },

    /** Submits every open window now (shutdown). */
    flushAll(): void {
      for (const id of [...buffers.keys()]) flush(id);
    },
  };
}

/** The intake; see {@link createPromptIntake}. */
export type PromptIntake = ReturnType<typeof createPromptIntake>;
