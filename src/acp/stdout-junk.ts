/** How much of a junk line is kept as a sample for the log, bytes. */
const SAMPLE_BYTES = 200;
const NEWLINE = 0x0a;
const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const BRACKET_OPEN = 0x5b;
const BRACKET_CLOSE = 0x5d;

const isSpace = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0d;

/**
 * Passes an agent's stdout through unchanged and reports lines that cannot be JSON-RPC (ACP
 * "Transports": stdout carries only newline-delimited JSON messages): a non-blank line that does not
 * start with `{` or `[` and end with `}` or `]`. The SDK answers such a line with a -32700 error to
 * the agent and reads on; this only makes it visible. Cheap: it looks at each line's first and last
 * non-blank byte, never parses. `onJunk` gets the first {@link SAMPLE_BYTES} bytes of the line.
 */
export function junkLineDetector(onJunk: (sample: string) => void): TransformStream<Uint8Array, Uint8Array> {
  let first = -1;
  let last = -1;
  let sample: number[] = [];
  const decoder = new TextDecoder();
  const endLine = () => {
    const blank = first < 0;
    const json =
      (first === BRACE_OPEN || first === BRACKET_OPEN) && (last === BRACE_CLOSE || last === BRACKET_CLOSE);
    if (!blank && !json) onJunk(decoder.decode(Uint8Array.from(sample)).trimEnd());
    first = -1;
    last = -1;
    sample = [];
  };
  const scan = (chunk: Uint8Array, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const byte = chunk[i] as number;
      const space = isSpace(byte);
      if (space && first < 0) continue;
      if (first < 0) first = byte;
      if (!space) last = byte;
      if (sample.length < SAMPLE_BYTES) sample.push(byte);
      else if (first === BRACE_OPEN || first === BRACKET_OPEN) {
        // A long JSON line: only its last byte matters now; skip to the end quickly.
        let end = to - 1;
        while (end > i && isSpace(chunk[end] as number)) end--;
        last = chunk[end] as number;
        return;
      }
    }
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      let start = 0;
      for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, start)) {
        scan(chunk, start, newline);
        endLine();
        start = newline + 1;
      }
      scan(chunk, start, chunk.length);
      controller.enqueue(chunk);
    },
    flush() {
      endLine();
    },
  });
}
