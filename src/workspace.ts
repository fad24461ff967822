import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
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

/**
 * Resolves `target` (absolute, relative to the workspace, or a file:// URI) to a real path inside
 * `workspace`, following symlinks; undefined when it does not exist or lies outside.
 */
export async function resolveInsideWorkspace(workspace: string, target: string): Promise<string | undefined> {
  let candidate = target;
  if (candidate.startsWith("file://")) {
    try {
      candidate = fileURLToPath(candidate);
    } catch {
      return undefined;
    }
  }
  try {
    const root = await fs.realpath(workspace);
    const real = await fs.realpath(path.resolve(root, candidate));
    return real === root || real.startsWith(`${root}${path.sep}`) ? real : undefined;
  } catch {
    return undefined;
  }
}
