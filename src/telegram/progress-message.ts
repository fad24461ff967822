import path from "node:path";
import type { PlanEntry, SessionUpdate, ToolCallContent, ToolCallStatus } from "@agentclientprotocol/sdk";
import type { Step } from "./answer-stream.js";
import type { FormattedSender, Shown } from "./formatted-send.js";
import { splitText } from "./split-text.js";
import { diffStats, diffsOf } from "./tool-diff.js";

/** First line of the progress message (tool calls, plan, thoughts). */
export const PROGRESS_HEADER = "⚙️ Progress";
const TOOL_LINES_SHOWN = 15;
/** How long the first progress message waits for answer text to go first, ms. */
const PROGRESS_DELAY_MS = 1_000;
/** Longest tail of the agent's thoughts shown, characters. */
const THOUGHT_TAIL_CHARS = 300;
const STATUS_ICON: Record<ToolCallStatus, string> = {
  pending: "⏳",
  in_progress: "🔄",
  completed: "✅",
  failed: "❌",
};
const PLAN_ICON: Record<PlanEntry["status"], string> = { pending: "☐", in_progress: "◐", completed: "☑" };

/** The session/update kinds shown in the progress message. */
export type ProgressUpdate = Extract<
  SessionUpdate,
  { sessionUpdate: "tool_call" | "tool_call_update" | "plan" | "agent_thought_chunk" }
>;

/**
 * The progress message of one turn: the agent's tool calls with their status (ACP tool_call /
 * tool_call_update, merged by toolCallId), its plan (ACP "Agent Plan", replaced whole) and, when
 * `showThoughts`, the tail of its thoughts. Plain text, at most 4000 characters, the latest 15 tool
 * calls.
 */
export function createProgressMessage(showThoughts: boolean) {
  const tools = new Map<string, { title: string; status: ToolCallStatus; change?: string }>();
  let plan: PlanEntry[] = [];
  let thought = "";
  /** When the first progress update arrived (Date.now()). */
  let since: number | undefined;
  return {
    /** Takes one progress update into the message. */
    apply(update: ProgressUpdate): void {
      since ??= Date.now();
      switch (update.sessionUpdate) {
        case "agent_thought_chunk":
          if (showThoughts && update.content.type === "text") thought += update.content.text;
          return;
        case "tool_call":
          tools.set(update.toolCallId, {
            title: update.title,
            status: update.status ?? "pending",
            ...changeOf(update.content),
          });
          return;
        case "tool_call_update": {
          const known = tools.get(update.toolCallId);
          const change = changeOf(update.content).change ?? known?.change;
          tools.set(update.toolCallId, {
            title: update.title ?? known?.title ?? update.kind ?? "tool call",
            status: update.status ?? known?.status ?? "pending",
            ...(change ? { change } : {}),
          });
          return;
        }
        case "plan":
          plan = update.entries;
          return;
      }
    },
    /** When the first progress update arrived, or undefined before any. */
    since: () => since,
    /** The message text, or "" while there is nothing to show. */
    text(): string {
      const thoughts = showThoughts && thought.trim() !== "";
      if (tools.size === 0 && plan.length === 0 && !thoughts) return "";
      const lines = [PROGRESS_HEADER];
      const entries = [...tools.values()];
      if (entries.length > TOOL_LINES_SHOWN)
        lines.push(`… ${entries.length - TOOL_LINES_SHOWN} earlier tool calls`);
      for (const tool of entries.slice(-TOOL_LINES_SHOWN))
        lines.push(`${STATUS_ICON[tool.status]} ${tool.title}${tool.change ? ` (${tool.change})` : ""}`);
      if (plan.length > 0) {
        lines.push("📋 Plan");
        for (const entry of plan) lines.push(`${PLAN_ICON[entry.status]} ${entry.content}`);
      }
      if (thoughts) lines.push(`💭 ${thought.trim().slice(-THOUGHT_TAIL_CHARS)}`);
      return splitText(lines.join("\n"), 4000)[0] ?? "";
    },
  };
}

/** A tool call's file changes as `+3 −1 a.ts`, when its content holds diff blocks. */
function changeOf(content: ToolCallContent[] | null | undefined): { change?: string } {
  const diffs = diffsOf(content);
  if (diffs.length === 0) return {};
  const { added, removed } = diffStats(diffs);
  return {
    change: `+${added} −${removed} ${diffs.map((d) => path.basename(d.path)).join(", ")}`.slice(0, 200),
  };
}

/** The progress message of a turn; see {@link createProgressMessage}. */
export type ProgressMessage = ReturnType<typeof createProgressMessage>;

/**
 * The delivery of a turn's progress message: sent once there is something to show, then edited in
 * place at most every `editIntervalMs`. It comes after the answer's text: before any text shows it
 * waits PROGRESS_DELAY_MS, so an answer that follows its tool calls at once is not held up by it.
 * A version that cannot be delivered is given up (logged by the loop); the next one tries again.
 */
export function createProgressStream(deps: {
  sender: FormattedSender;
  message: ProgressMessage;
  editIntervalMs: number;
}) {
  let progress: Shown | undefined;
  let inFlight: string | undefined;
  return {
    /** The next send or edit, or when it is due (Infinity: nothing to do). */
    next(now: number, context: { textShown: boolean; final: boolean }): Step | number {
      const text = deps.message.text();
      if (text === "" || progress?.shown === text) return Number.POSITIVE_INFINITY;
      const due = progress
        ? progress.lastEditAt + deps.editIntervalMs
        : context.textShown || context.final
          ? now
          : (deps.message.since() ?? now) + PROGRESS_DELAY_MS;
      if (due > now) return due;
      const editing = progress?.id !== undefined;
      const key = editing ? `p:${progress?.id}` : undefined;
      return {
        run: async () => {
          let id = progress?.id;
          let shown = text;
          inFlight = key;
          try {
            const current = () => {
              const latest = deps.message.text();
              return { html: latest, plain: latest };
            };
            const posted = await deps.sender.post(progress, current, {
              label: "progress",
              priority: editing && !context.final ? "edit" : "message",
              ...(key ? { key } : {}),
            });
            id = posted.id;
            shown = posted.html;
          } finally {
            inFlight = undefined;
            progress = { id, shown, lastEditAt: Date.now() };
          }
        },
      };
    },
    /** The outbox key of an edit of the progress message still being delivered, if any. */
    inFlight: () => inFlight,
  };
}
