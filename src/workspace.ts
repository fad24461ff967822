import fs from "node:fs/promises";
import path from "node:path";
import type { TopicKey } from "./db/session-store.js";

/**
 * The absolute workspace directory of a topic key: `<base>/<chatId>/<threadId>/<userId>`
 * (the seeds' create_workspace_dir, keyed by chat as well). Ids must be safe integers, so the path
 * cannot leave `base`.
 *
 * @throws Error when an id is not a safe integer.
 */
export function workspacePathFor(basePath: string, key: TopicKey): string {
  for (const id of [key.chatId, key.threadId, key.userId]) {
    if (!Number.isSafeInteger(id)) throw new Error(`invalid topic key id: ${id}`);
  }
  return path.resolve(basePath, String(key.chatId), String(key.threadId), String(key.userId));
}

/**
 * Creates `dir` owner-only (0700) with its parents if it does not exist.
 *
 * @throws the fs error when it cannot be created.
 */
export async function ensureWorkspace(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}
