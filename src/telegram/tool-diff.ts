import type { ToolCallContent } from "@agentclientprotocol/sdk";
import { structuredPatch } from "diff";

/** One file change of a tool call (ACP ToolCallContent `diff`: path, oldText null for a new file, newText). */
export type FileDiff = { path: string; oldText: string | null; newText: string };

/** Lines of context around each change in the diffs the bot shows. */
const CONTEXT_LINES = 2;

/** The `diff` blocks of a tool call's content (ACP "Tool Calls": content), in order. Pure. */
export function diffsOf(content: readonly ToolCallContent[] | null | undefined): FileDiff[] {
  return (content ?? []).flatMap((block) =>
    block.type === "diff"
      ? [{ path: block.path, oldText: block.oldText ?? null, newText: block.newText }]
      : [],
  );
}

/**
 * The unified diff of file changes (`--- path` / `+++ path`, `@@` hunks with 2 lines of context,
 * `/dev/null` for a new file), as `diff -u` prints it. Pure.
 */
export function unifiedDiff(diffs: readonly FileDiff[]): string {
  return diffs
    .map((d) => {
      const patch = structuredPatch(d.path, d.path, d.oldText ?? "", d.newText, "", "", {
        context: CONTEXT_LINES,
      });
      const head = [`--- ${d.oldText === null ? "/dev/null" : d.path}`, `+++ ${d.path}`];
      const hunks = patch.hunks.flatMap((h) => [
        `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`,
        ...h.lines,
      ]);
      return [...head, ...hunks].join("\n");
    })
    .join("\n");
}

/** Lines added and removed by file changes, for a one-line summary (`+3 −1`). Pure. */
export function diffStats(diffs: readonly FileDiff[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const d of diffs) {
    const patch = structuredPatch(d.path, d.path, d.oldText ?? "", d.newText, "", "", { context: 0 });
    for (const hunk of patch.hunks) {
      for (const line of hunk.lines) {
        if (line.startsWith("+")) added += 1;
        else if (line.startsWith("-")) removed += 1;
      }
    }
  }
  return { added, removed };
}

/**
 * A diff cut to fit a message: whole lines up to `maxChars`, then a line saying how many are left
 * out. `cut` says whether anything was left out (the whole diff then goes as a document).
 */
export function compactDiff(diff: string, maxChars: number): { text: string; cut: boolean } {
  if (diff.length <= maxChars) return { text: diff, cut: false };
  const lines = diff.split("\n");
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 1 > maxChars) break;
    kept.push(line);
    length += line.length + 1;
  }
  return {
    text: `${kept.join("\n")}\n… ${lines.length - kept.length} more lines in the attached .diff`,
    cut: true,
  };
}
