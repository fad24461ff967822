import fs from "node:fs/promises";
import path from "node:path";
import type { Telegram } from "telegraf";
import { resolveInsideWorkspace } from "../workspace.js";
import type { Outbox } from "./outbox.js";

/** Largest file a bot may upload (Bot API sendDocument / sendPhoto), bytes. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
/** Largest photo sendPhoto accepts, bytes; larger images go as documents. */
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const PHOTO_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".webp"]);

/** Where files go: a chat and, in a forum topic, its message_thread_id. */
export type FileTarget = { chatId: number; messageThreadId: number | undefined };

/**
 * Sends a file from a topic's workspace into the topic: sendPhoto for small images, sendDocument
 * otherwise. Refuses paths outside the workspace (after following symlinks) and files over the
 * Bot API's 50 MB upload limit. `caption` (at most 1024 characters, Bot API) goes with the file.
 * Returns the one-line message to show instead when nothing was sent.
 *
 * @throws the Bot API error of the upload (after the outbox's retries).
 */
export async function sendWorkspaceFile(
  deps: { telegram: Telegram; outbox: Outbox },
  target: FileTarget,
  workspace: string,
  requested: string,
  caption?: string,
): Promise<string | undefined> {
  const real = await resolveInsideWorkspace(workspace, requested);
  if (!real) return `📎 ${requested} is not a file inside this topic's workspace.`;
  const stat = await fs.stat(real);
  if (!stat.isFile()) return `📎 ${requested} is not a file.`;
  if (stat.size > MAX_UPLOAD_BYTES) {
    return `📎 ${path.basename(real)} is ${(stat.size / 1024 / 1024).toFixed(1)} MB, over Telegram's 50 MB upload limit; it is at ${real}.`;
  }
  const extra = {
    ...(target.messageThreadId === undefined ? {} : { message_thread_id: target.messageThreadId }),
    ...(caption ? { caption } : {}),
  };
  const file = { source: real, filename: path.basename(real) };
  const asPhoto = PHOTO_EXTENSIONS.has(path.extname(real).toLowerCase()) && stat.size <= MAX_PHOTO_BYTES;
  await deps.outbox.send<unknown>(
    target.chatId,
    () =>
      asPhoto
        ? deps.telegram.sendPhoto(target.chatId, file, extra)
        : deps.telegram.sendDocument(target.chatId, file, extra),
    asPhoto ? "sendPhoto" : "sendDocument",
  );
  return undefined;
}
