import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import type * as acp from "@agentclientprotocol/sdk";
import type { Attachment, TurnUsage } from "../domain/turn.js";

/**
 * The session/prompt content for a turn (ACP "Content"): the text blocks, then each attachment as an
 * image block when the agent accepts images (promptCapabilities.image) and it is one, otherwise as
 * a resource_link to the file (which every agent must accept).
 *
 * @throws the fs error when an image attachment cannot be read.
 */
export async function promptBlocks(
  prompt: acp.ContentBlock[],
  attachments: Attachment[],
  capabilities: acp.AgentCapabilities,
): Promise<acp.ContentBlock[]> {
  const blocks = [...prompt];
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
