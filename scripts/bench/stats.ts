/** The q-quantile (0..1) of `samples` by the nearest-rank method; NaN when there are none. */
export function percentile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** The median of `samples` (nearest rank). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 0.5);
}

/** "median X ms, p90 Y ms (n=N)" for timing samples in ms. */
export function describeMs(samples: readonly number[]): string {
  return `median ${median(samples).toFixed(1)} ms, p90 ${percentile(samples, 0.9).toFixed(1)} ms (n=${samples.length})`;
}

/** An integer with thousands separators, e.g. 12,345. */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
