/**
 * Benchmark: how long one turn takes through the bot against the bare test agent (see
 * scripts/bench/turn.ts). Prints medians and p90 in ms. Usage: npm run bench:turn [-- turns]
 */
import { describeMs, median } from "./bench/stats.js";
import { measureTurns } from "./bench/turn.js";

const t = await measureTurns(Number(process.argv[2] ?? 15));
console.log(`bare test agent (spawn..first chunk):         ${describeMs(t.bareFirstChunk)}`);
console.log(`bare test agent turn (spawn..answer):         ${describeMs(t.bareAnswer)}`);
console.log(`bot turn, new topic (POST..sendMessage):      ${describeMs(t.botNewTopic)}`);
console.log(`bot turn, same topic (session/load + replay): ${describeMs(t.botSameTopic)}`);
console.log(
  `bot overhead over the bare agent's first chunk, new topic: ${(median(t.botNewTopic) - median(t.bareFirstChunk)).toFixed(1)} ms (median)`,
);
