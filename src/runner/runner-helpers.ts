import type { Store } from "../domain/store.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { TurnUsage } from "../domain/turn.js";
import { ensureWorkspace, workspacePathFor } from "../workspace.js";
import type { LastTurn, PromptJob } from "./types.js";

/** The text of a prompt's text blocks, for the journal. */
export function promptText(job: PromptJob): string {
  return job.prompt.map((block) => (block.type === "text" ? block.text : "")).join("\n");
}

/** Whether `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return inTime;
}

/**
 * The last turn for /status, keeping what the agent last reported of the context when this turn
 * reported less (no usage_update, a cancelled or failed turn, a percentage only): context fields of
 * the earlier turn stay unless this one has its own (used and size replace a percentage). Pure.
 */
export function withEarlierContext(turn: LastTurn, earlier: LastTurn | undefined): LastTurn {
  const before = earlier?.usage;
  if (!before) return turn;
  const now: TurnUsage = turn.usage ?? {};
  const hasCounts = now.contextUsed !== undefined && now.contextSize !== undefined;
  const context: TurnUsage = hasCounts
    ? {}
    : now.contextPercent !== undefined
      ? {}
      : {
          ...(before.contextUsed !== undefined ? { contextUsed: before.contextUsed } : {}),
          ...(before.contextSize !== undefined ? { contextSize: before.contextSize } : {}),
          ...(before.contextPercent !== undefined ? { contextPercent: before.contextPercent } : {}),
        };
  const usage = { ...context, ...now };
  return Object.keys(usage).length > 0 ? { ...turn, usage } : turn;
}

/**
 * The workspace of a key (Runner.workspaceFor): the stored one, or a new one under `basePath`,
 * created if needed (with the template copied into a new one).
 *
 * @throws the fs error when it cannot be created.
 */
export function workspaceLookup(store: Store, basePath: string, templateDir: string | undefined) {
  return async (key: TopicKey): Promise<string> =>
    ensureWorkspace(
      (await store.session(key))?.workspacePath ?? workspacePathFor(basePath, key),
      templateDir,
    );
}
