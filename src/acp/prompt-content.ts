import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import type * as acp from "@agentclientprotocol/sdk";
import { UserFacingError } from "../domain/errors.js";
import type { Attachment, TurnUsage } from "../domain/turn.js";

/**
 * A turn's voice notes and audio files, and the text each becomes for an agent that takes no audio
 * (its transcript); `asText` throws a UserFacingError when it cannot give one.
 */
export type AudioInput = {
  files: Attachment[];
  asText?: ((file: Attachment, signal: AbortSignal) => Promise<string>) | undefined;
  signal: AbortSignal;
};

/**
 * The session/prompt content for a turn (ACP "Content"): the text blocks (empty ones dropped when
 * other content follows: a voice note without a caption), then each audio file as an audio block
 * (base64 data, MIME type) when the agent accepts audio (promptCapabilities.audio), otherwise as a
 * text block of `audio.asText`, then each attachment as an image block when the agent accepts images
 * (promptCapabilities.image) and it is one, otherwise as a resource_link to the file (which every
 * agent must accept).
 *
 * @throws UserFacingError when the agent takes no audio and there is no `asText`, or what `asText` throws.
 * @throws the fs error when an image or audio file cannot be read.
 */
export async function promptBlocks(
  prompt: acp.ContentBlock[],
  attachments: Attachment[],
  capabilities: acp.AgentCapabilities,
  audio: AudioInput = { files: [], signal: new AbortController().signal },
): Promise<acp.ContentBlock[]> {
  const more = audio.files.length + attachments.length > 0;
  const blocks = more
    ? prompt.filter((block) => block.type !== "text" || block.text.trim() !== "")
    : [...prompt];
  for (const file of audio.files) {
    if (capabilities.promptCapabilities?.audio) {
      blocks.push({
        type: "audio",
        mimeType: file.mimeType,
        data: (await readFile(file.path)).toString("base64"),
      });
    } else if (audio.asText) {
      blocks.push({ type: "text", text: await audio.asText(file, audio.signal) });
    } else {
      throw new UserFacingError(`${file.name} is audio, which this agent does not take`);
    }
  }
  for (const file of attachments) {
    if (capabilities.promptCapabilities?.image && file.mimeType.startsWith("image/")) {
      blocks.push({
        type: "image",
        mimeType: file.mimeType,
        data: (await readFile(file.path)).toString("base64"),
      });
    } else {
      blocks.push({
        type: "resource_link",
        uri: pathToFileURL(file.path).href,
        name: file.name,
        mimeType: file.mimeType,
        size: file.size,
      });
    }
  }
  return blocks;
}

/** Token counts of a PromptResponse's `usage` (unstable in SDK 2.4; passed through untyped). */
export function promptUsage(response: acp.PromptResponse): TurnUsage {
  const usage = (response as { usage?: Record<string, unknown> | null }).usage;
  const out: TurnUsage = {};
  if (!usage) return out;
  for (const field of ["inputTokens", "outputTokens", "totalTokens"] as const) {
    const value = usage[field];
    if (typeof value === "number") out[field] = value;
  }
  return out;
}
