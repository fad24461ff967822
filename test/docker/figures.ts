import fs from "node:fs";

/** One measured figure of the container test: what, the value as printed, and a note. */
export type Figure = { name: string; value: string; note?: string };

/** Appends a figure to the run's figures file (JSON lines), which the global teardown prints. */
export function recordFigure(file: string, figure: Figure): void {
  fs.appendFileSync(file, `${JSON.stringify(figure)}\n`);
  process.stdout.write(`[docker] ${figure.name}: ${figure.value}${figure.note ? ` (${figure.note})` : ""}\n`);
}

/** The figures recorded so far, in order. */
export function readFigures(file: string): Figure[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Figure);
}

/** The figures as an aligned two-column table. */
export function formatFigures(figures: readonly Figure[]): string {
  const width = Math.max(...figures.map((f) => f.name.length), 0);
  return figures
    .map((f) => `  ${f.name.padEnd(width)}  ${f.value}${f.note ? `  (${f.note})` : ""}`)
    .join("\n");
}
