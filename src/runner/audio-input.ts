import type * as acp from "@agentclientprotocol/sdk";
import { UserFacingError } from "../domain/errors.js";
import { MAX_PROMPT_CHARS, NO_AUDIO_ROUTE } from "../domain/prompt.js";
import type { Attachment } from "../domain/turn.js";
import type { AudioRoute, Transcriber, TurnView } from "./types.js";

/** Longest transcript shown in the topic's quoted line, characters (the agent gets all of it). */
const SHOWN_TRANSCRIPT_CHARS = 3_500;

/**
 * How a voice note or audio file reaches the agent (see {@link AudioRoute}): audio blocks when the
 * agent's last known capabilities (ACP initialize `promptCapabilities.audio`) take audio, else the
 * transcript when a transcriber is configured, else `none` once the capabilities are known.
 */
export function audioRoute(
  capabilities: acp.AgentCapabilities | undefined,
  transcribe: Transcriber | undefined,
): AudioRoute {
  if (capabilities?.promptCapabilities?.audio) return "audio";
  if (transcribe) return "transcript";
  return capabilities ? "none" : "unknown";
}

/** The transcript as the topic sees it: one quoted line, whitespace folded, long ones cut. */
export function transcriptLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  const shown = line.length > SHOWN_TRANSCRIPT_CHARS ? `${line.slice(0, SHOWN_TRANSCRIPT_CHARS)}…` : line;
  return `🎤 «${shown}»`;
}

/**
 * The ACP client's `audioAsText` for one turn (called only when its agent takes no audio): the
 * transcript of each audio file, shown in the topic as one quoted line before the agent answers.
 * `promptChars` is the length of the turn's text (the caption); the transcripts count against
 * {@link MAX_PROMPT_CHARS} with it.
 *
 * @throws UserFacingError when there is no transcriber, the transcription fails or times out (the
 *   transcriber's line), nothing was heard, or the prompt would be over the limit.
 */
export function transcriptsFor(deps: {
  transcribe: Transcriber | undefined;
  view: TurnView;
  promptChars: number;
}): (file: Attachment, signal: AbortSignal) => Promise<string> {
  let chars = deps.promptChars;
  return async (file, signal) => {
    if (!deps.transcribe) throw new UserFacingError(NO_AUDIO_ROUTE);
    const text = await deps.transcribe(file, signal);
    if (text === "") throw new UserFacingError(`no speech was recognised in ${file.name}`);
    chars += text.length;
    if (chars > MAX_PROMPT_CHARS) {
      throw new UserFacingError(
        `the transcript of ${file.name} makes a prompt of ${chars.toLocaleString("en")} characters; the limit is ${MAX_PROMPT_CHARS.toLocaleString("en")}`,
      );
    }
    void deps.view.notice(transcriptLine(text));
    return text;
  };
}
