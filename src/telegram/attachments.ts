import fs from "node:fs/promises";
import path from "node:path";
import type { Telegram } from "telegraf";
import type { Attachment } from "../domain/turn.js";

/** Largest file a bot may download (Bot API getFile), bytes. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

/** A file the user sent that is over {@link MAX_DOWNLOAD_BYTES}; the message is for the user. */
export class FileTooLargeError extends Error {
  override name = "FileTooLargeError";
}

/** What to fetch: a Telegram file id with the name, MIME type and size (bytes) the message gave. */
export type IncomingFile = { fileId: string; name: string; mimeType: string; size: number | undefined };

/**
 * Downloads a file the user sent (Bot API getFile, then the file URL) into
 * `<workspace>/attachments/`, under a timestamped, sanitized name, owner-only (0600).
 *
 * @throws FileTooLargeError over the Bot API's 20 MB download limit (nothing is fetched).
 * @throws the Bot API or HTTP error when the download fails.
 */
export async function downloadToWorkspace(
  telegram: Telegram,
  file: IncomingFile,
  workspace: string,
): Promise<Attachment> {
  const tooLarge = () =>
    new FileTooLargeError(
      `${file.name} is over the 20 MB that bots can download from Telegram; it was not sent to the agent.`,
    );
  if (file.size !== undefined && file.size > MAX_DOWNLOAD_BYTES) throw tooLarge();
  const url = await telegram.getFileLink(file.fileId);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`file download failed: HTTP ${response.status}`);
  const data = Buffer.from(await response.arrayBuffer());
  if (data.length > MAX_DOWNLOAD_BYTES) throw tooLarge();
  const dir = path.join(workspace, "attachments");
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  const safeName =
    path
      .basename(file.name)
      .replace(/[^\w.-]+/g, "_")
      .slice(0, 100) || "file";
  const target = path.join(dir, `${stamp}-${safeName}`);
  await fs.writeFile(target, data, { mode: 0o600 });
  return { path: target, name: file.name, mimeType: file.mimeType, size: data.length };
}
