import type { PromptJob } from "./types.js";

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
