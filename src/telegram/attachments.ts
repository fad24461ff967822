import fs from "node:fs/promises";
import path from "node:path";
import type { Telegram } from "telegraf";
import { UserFacingError } from "../domain/errors.js";
import type { Attachment, PendingFile } from "../domain/turn.js";
import type { FileFetcher } from "../runner/types.js";

/** Largest file a bot may download (Bot API getFile), bytes. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

/** A file the user sent that is over {@link MAX_DOWNLOAD_BYTES}; the message is for the user. */
export class FileTooLargeError extends UserFacingError {
  override name = "FileTooLargeError";
}

/** The one line for a file over the download limit. */
export function tooLargeLine(name: string): string {
  return `${name} is over the 20 MB that bots can download from Telegram; it was not sent to the agent`;
}

/**
 * The bot's {@link FileFetcher}: Bot API getFile, then the file URL, into `<workspace>/attachments/`
 * as `<message id>-<sanitized name>` (unique: two files of one name never overwrite each other),
 * owner-only (0600). The download stops when `signal` aborts.
 *
 * @throws FileTooLargeError over the Bot API's 20 MB download limit.
 * @throws the Bot API or HTTP error when the download fails.
 */
export function createFileFetcher(telegram: Telegram): FileFetcher {
  return async (file: PendingFile, workspace: string, signal: AbortSignal): Promise<Attachment> => {
    if (file.size !== undefined && file.size > MAX_DOWNLOAD_BYTES)
      throw new FileTooLargeError(tooLargeLine(file.name));
    const url = await telegram.getFileLink(file.fileId);
    const response = await fetch(url, { signal });
    if (!response.ok) throw new Error(`file download failed: HTTP ${response.status}`);
    const data = Buffer.from(await response.arrayBuffer());
    if (data.length > MAX_DOWNLOAD_BYTES) throw new FileTooLargeError(tooLargeLine(file.name));
    const dir = path.join(workspace, "attachments");
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const safeName =
      path
        .basename(file.name)
        .replace(/[^\w.-]+/g, "_")
        .slice(0, 100) || "file";
    const target = path.join(dir, `${file.messageId}-${safeName}`);
    await fs.writeFile(target, data, { mode: 0o600 });
    return { path: target, name: file.name, mimeType: file.mimeType, size: data.length };
  };
}
