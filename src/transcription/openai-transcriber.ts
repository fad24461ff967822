import { readFile } from "node:fs/promises";
import { formatDuration } from "../domain/duration.js";
import { UserFacingError } from "../domain/errors.js";
import type { Attachment } from "../domain/turn.js";
import type { Logger } from "../logger.js";

/** Longest excerpt of a failed answer's body kept for the log, characters. */
const LOG_BODY_CHARS = 500;

/** Options of {@link createTranscriber} (the TRANSCRIBE_* settings); durations in ms. */
export type TranscriberOptions = {
  /** The endpoint's full URL, e.g. https://api.openai.com/v1/audio/transcriptions. */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set (the logger must redact it: configSecrets). */
  apiKey: string | undefined;
  /** The multipart `model` field, e.g. whisper-1. */
  model: string;
  /** The whole request, answer body included, must finish within this long. */
  timeoutMs: number;
  logger: Logger;
};

/**
 * Speech-to-text over the OpenAI API's "Create transcription", `POST /v1/audio/transcriptions`, as
 * OpenAI, Groq, a whisper.cpp server (`--inference-path /v1/audio/transcriptions`) and
 * faster-whisper-server speak it: multipart/form-data with `file` (the saved audio under its name,
 * whose extension tells the server the format), `model` and `response_format=json`; the answer is
 * `{ "text": string }`. The returned function reads `file.path` and resolves with the transcript,
 * trimmed (empty when the server heard no speech).
 *
 * The request is bounded by an explicit timer, cleared when it settles (`AbortSignal.timeout()`
 * inside `AbortSignal.any()` can be garbage collected on Node 20 before it fires); `signal`
 * (cancel, shutdown) aborts it as well.
 *
 * @throws UserFacingError, one line for the topic naming the file, when the answer takes longer than
 *   `timeoutMs`, the server cannot be reached, answers other than 2xx (its status and a body excerpt
 *   go to the log) or without a string `text`.
 * @throws the fs error when the file cannot be read; when `signal` aborts, whatever fetch rejects with.
 */
export function createTranscriber(
  options: TranscriberOptions,
): (file: Attachment, signal: AbortSignal) => Promise<string> {
  const { logger } = options;
  return async (file, signal) => {
    const fail = (reason: string, cause?: unknown) =>
      new UserFacingError(`${file.name} could not be transcribed (${reason})`, { cause });
    const started = Date.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`no transcript within ${options.timeoutMs} ms`, "TimeoutError"));
    }, options.timeoutMs);
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    try {
      const form = new FormData();
      form.append("file", new Blob([await readFile(file.path)], { type: file.mimeType }), file.name);
      form.append("model", options.model);
      form.append("response_format", "json");
      const response = await fetch(options.url, {
        method: "POST",
        body: form,
        headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
        signal: controller.signal,
      });
      const body = await response.text();
      if (!response.ok) {
        logger.warn(
          { status: response.status, body: body.slice(0, LOG_BODY_CHARS), file: file.name },
          "transcription failed",
        );
        throw fail(`the transcription server answered HTTP ${response.status}`);
      }
      const text = textOf(body);
      if (text === undefined) {
        logger.warn({ body: body.slice(0, LOG_BODY_CHARS), file: file.name }, "transcription without text");
        throw fail("the transcription server's answer has no text");
      }
      logger.info(
        { file: file.name, bytes: file.size, chars: text.length, ms: Date.now() - started },
        "audio transcribed",
      );
      return text.trim();
    } catch (err) {
      if (err instanceof UserFacingError) throw err;
      if (timedOut) {
        logger.warn({ file: file.name, timeoutMs: options.timeoutMs }, "transcription timed out");
        throw fail(`no transcript within ${formatDuration(options.timeoutMs)}`, err);
      }
      if (signal.aborted) throw err;
      if (!(err instanceof TypeError)) throw err;
      // fetch rejects with TypeError("fetch failed") whose cause names the network error.
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      logger.warn({ err, file: file.name }, "transcription server unreachable");
      throw fail(
        `the transcription server could not be reached: ${String(cause?.code ?? cause?.message ?? err.message)}`,
        err,
      );
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  };
}

/** The `text` of a transcription answer's JSON body; undefined when there is none. */
function textOf(body: string): string | undefined {
  try {
    const text = (JSON.parse(body) as { text?: unknown } | null)?.text;
    return typeof text === "string" ? text : undefined;
  } catch {
    return undefined;
  }
}
