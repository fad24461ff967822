import type { TopicStatus } from "../runner/types.js";

/** A percentage as /status shows it: one decimal below 10 %, whole numbers above. */
function percentText(percent: number): string {
  return `${percent < 10 ? Math.round(percent * 10) / 10 : Math.round(percent)}%`;
}

/**
 * The /status text: agent, session, model, workspace, state, last turn with its usage: context used
 * / size in tokens with the percentage (ACP usage_update), or the percentage alone when the agent
 * reports only that (Kiro), tokens and cost.
 */
export function statusText(agentCommand: string, status: TopicStatus): string {
  const state =
    status.runningForMs === undefined
      ? "idle"
      : `working for ${Math.round(status.runningForMs / 1000)} s${status.queued > 0 ? `, ${status.queued} queued` : ""}`;
  const lines = [
    `Agent: ${agentCommand}`,
    `Session: ${status.sessionId ?? "none yet (the next message starts one)"}`,
    `Model: ${status.model}`,
    `Workspace: ${status.workspacePath}`,
    `State: ${state}`,
  ];
  const last = status.last;
  if (last) {
    const usage = last.usage;
    const extras: string[] = [];
    if (usage?.contextUsed !== undefined && usage.contextSize !== undefined) {
      const percent =
        usage.contextSize > 0 ? ` (${percentText((usage.contextUsed / usage.contextSize) * 100)})` : "";
      extras.push(
        `context ${usage.contextUsed.toLocaleString("en")}/${usage.contextSize.toLocaleString("en")} tokens${percent}`,
      );
    } else if (usage?.contextPercent !== undefined) {
      extras.push(`context ${percentText(usage.contextPercent)} used`);
    }
    if (usage?.inputTokens !== undefined || usage?.outputTokens !== undefined) {
      extras.push(`tokens in ${usage.inputTokens ?? "?"} / out ${usage.outputTokens ?? "?"}`);
    }
    if (usage?.cost) extras.push(`cost ${usage.cost.amount} ${usage.cost.currency}`);
    lines.push(
      `Last turn: ${last.stopReason} after ${(last.durationMs / 1000).toFixed(1)} s${extras.length > 0 ? ` (${extras.join("; ")})` : ""}`,
    );
  }
  return lines.join("\n");
}
