import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TopicKey } from "./domain/topic-key.js";

/**
 * The absolute workspace directory of a topic key: `<base>/<chatId>/<threadId>/<userId>`
 * (keyed by chat as well, since message_thread_id is only unique in its chat). Ids must be safe integers, so the path
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
 * Creates `dir` owner-only (0700) with its parents if it does not exist. When `templateDir` is given
 * and `dir` is new, the template's contents (agent instructions such as AGENTS.md or .kiro/steering/)
 * are copied in first: into a sibling staging directory that is then renamed to `dir`, so a failed
 * copy never leaves a half-filled workspace behind. An existing `dir` is left as it is.
 *
 * @returns `dir`.
 * @throws the fs error when it cannot be created or the template cannot be copied.
 */
export async function ensureWorkspace(dir: string, templateDir?: string): Promise<string> {
  if (templateDir === undefined) {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
  if (await exists(dir)) return dir;
  await fsp.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  const staging = await fsp.mkdtemp(`${dir}.new-`); // 0700
  try {
    await fsp.cp(templateDir, staging, { recursive: true });
    await fsp.rename(staging, dir);
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/**
 * Why `templateDir` cannot serve as WORKSPACE_TEMPLATE_DIR (one line: "<dir> does not exist", "<dir> is
 * not a directory", "<dir> is not readable"), or undefined when it can.
 */
export function templateDirProblem(templateDir: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(templateDir);
  } catch {
    return `${templateDir} does not exist`;
  }
  if (!stat.isDirectory()) return `${templateDir} is not a directory`;
  try {
    fs.accessSync(templateDir, fs.constants.R_OK | fs.constants.X_OK);
  } catch {
    return `${templateDir} is not readable`;
  }
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
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
    const root = await fsp.realpath(workspace);
    const real = await fsp.realpath(path.resolve(root, candidate));
    return real === root || real.startsWith(`${root}${path.sep}`) ? real : undefined;
  } catch {
    return undefined;
  }
}
