import type { AgentRecord } from "../domain/turn.js";

/** A journal row's agent columns, as both databases return them (nullable). */
export type AgentColumns = {
  turnId: number;
  pid: number | null;
  startTime: string | null;
  marker: string | null;
};

/** The rows whose agent columns are all set, as records. */
export function agentRecords(rows: AgentColumns[]): Array<AgentRecord & { turnId: number }> {
  return rows.flatMap((row) =>
    row.pid !== null && row.startTime !== null && row.marker !== null
      ? [{ turnId: row.turnId, pid: row.pid, startTime: row.startTime, marker: row.marker }]
      : [],
  );
}
