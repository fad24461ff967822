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

/** File extensions of the audio types Telegram delivers, which speech-to-text servers go by. */
const AUDIO_EXTENSIONS: Record<string, string> = {
  "audio/ogg": "ogg",
  "audio/opus": "ogg",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3",
  "audio/mp4": "m4a",
  "audio/m4a": "m4a",
  "audio/x-m4a": "m4a",
  "audio/aac": "aac",
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/flac": "flac",
  "audio/x-flac": "flac",
  "audio/webm": "webm",
};

/**
 * The name a voice note or audio file is saved and transcribed under: `<base>.<extension of its
 * MIME type>` (OGG, Telegram's voice note format, when the type is unknown). Voice notes carry no
 * file name (Bot API Voice); an audio file's own `file_name` is kept when it has one.
 */
export function audioFileName(base: string, mimeType: string | undefined): string {
  return `${base}.${AUDIO_EXTENSIONS[mimeType ?? ""] ?? "ogg"}`;
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
