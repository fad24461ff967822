import { type TopicKey, topicKeyId } from "../domain/topic-key.js";

/** Telegram cuts long pasted text into messages of up to 4096 characters; a part this long is likely one. */
export const SPLIT_PART_MIN_LENGTH = 3_500;

type Submit = (text: string) => Promise<void> | undefined;
type Buffered = { parts: string[]; timer: NodeJS.Timeout; submit: Submit };

/**
 * Joins the parts of a long pasted message back into one prompt. Telegram splits text over 4096
 * characters into several messages that arrive within moments; a message at least
 * {@link SPLIT_PART_MIN_LENGTH} long opens a window of `debounceMs` in which further messages of the
 * same key are appended (each extends the window). Other messages go through at once, so short
 * prompts never wait.
 */
export function createPromptIntake(options: { debounceMs: number; onLateError?: (err: unknown) => void }) {
  const onLateError = options.onLateError ?? (() => {});
  const buffers = new Map<string, Buffered>();

  const flush = (id: string) => {
    const buffered = buffers.get(id);
    if (!buffered) return;
    buffers.delete(id);
    clearTimeout(buffered.timer);
    void buffered.submit(buffered.parts.join("\n"))?.catch(onLateError);
  };

  return {
    /**
     * Takes one text message; `submit` is called with the whole prompt, at once (its promise is
     * returned: the message is taken in when it settles) or when the window closes (the part is
     * taken in at once, buffered). While a window is open for the key, the first message's `submit`
     * is used; a failure of a late submit goes to `onLateError`.
     */
    add(key: TopicKey, text: string, submit: Submit): Promise<void> | undefined {
      const id = topicKeyId(key);
      const open = buffers.get(id);
      if (open) {
        open.parts.push(text);
        clearTimeout(open.timer);
        open.timer = setTimeout(() => flush(id), options.debounceMs);
        return undefined;
      }
      if (options.debounceMs <= 0 || text.length < SPLIT_PART_MIN_LENGTH) return submit(text);
      buffers.set(id, { parts: [text], submit, timer: setTimeout(() => flush(id), options.debounceMs) });
      return undefined;
    },

    /** Submits every open window now (shutdown). */
    flushAll(): void {
      for (const id of [...buffers.keys()]) flush(id);
    },
  };
}

/** The intake; see {@link createPromptIntake}. */
export type PromptIntake = ReturnType<typeof createPromptIntake>;
