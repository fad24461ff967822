import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { UserFacingError } from "../domain/errors.js";
import { describeSchedule } from "../domain/schedule.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { ScheduleBook } from "../runner/types.js";

/**
 * What the tools do in a topic, wired by the composition root (the Telegram side and the
 * scheduler). Each acts on the topic key the session's token was granted to, never another.
 */
export type TopicTools = {
  /**
   * Sends a file of the key's workspace to its topic (the rules of files the agent links: inside the
   * workspace after symlinks, at most 50 MB). Returns the one-line refusal when nothing was sent.
   */
  sendFile(key: TopicKey, path: string, caption: string | undefined): Promise<string | undefined>;
  /** Asks in the topic with one button per option; resolves with the choice, or undefined (no answer). */
  ask(key: TopicKey, question: string, options: string[], signal: AbortSignal): Promise<string | undefined>;
  /** Posts one line in the topic, outside the answer. */
  notify(key: TopicKey, text: string): Promise<void>;
  schedules: ScheduleBook;
};

const text = (value: string): CallToolResult => ({ content: [{ type: "text", text: value }] });
const failure = (value: string): CallToolResult => ({
  content: [{ type: "text", text: value }],
  isError: true,
});

/**
 * Registers the bot's tools on `server` for one request of `key`'s session: send_file, ask_user,
 * notify, schedule, list_schedules, cancel_schedule (MCP "Tools"). `admit` runs before each call
 * (the rate limit) and returns a refusal, or undefined to go on; a tool's signal aborts when the
 * client cancels the call or `gone` aborts. Bad input (schema or rule) is a tool
 * error (`isError`) naming what is wrong; nothing is sent or stored then.
 */
export function registerTopicTools(
  server: McpServer,
  key: TopicKey,
  tools: TopicTools,
  admit: (tool: string) => Promise<string | undefined>,
  /** Aborts when the HTTP request is gone (the agent ended): a waiting ask_user gives up. */
  gone: AbortSignal,
): void {
  /** Runs a tool after the rate limit; a UserFacingError becomes a tool error. */
  const guarded =
    <A>(name: string, run: (args: A, signal: AbortSignal) => Promise<CallToolResult>) =>
    async (args: A, extra: { signal: AbortSignal }): Promise<CallToolResult> => {
      const refusal = await admit(name);
      if (refusal) return failure(refusal);
      try {
        return await run(args, AbortSignal.any([extra.signal, gone]));
      } catch (err) {
        if (err instanceof UserFacingError) return failure(err.message);
        throw err;
      }
    };

  server.registerTool(
    "send_file",
    {
      description:
        "Send a file from this topic's workspace to the Telegram topic (at most 50 MB). The path is relative to the workspace, or absolute inside it.",
      inputSchema: { path: z.string().min(1).max(4096), caption: z.string().max(1024).optional() },
    },
    guarded<{ path: string; caption?: string | undefined }>("send_file", async ({ path, caption }) => {
      const refusal = await tools.sendFile(key, path, caption);
      return refusal ? failure(refusal) : text(`sent ${path}`);
    }),
  );

  server.registerTool(
    "ask_user",
    {
      description:
        'Ask the user a question in the Telegram topic with one button per option; returns the chosen option, or "no answer" after a timeout.',
      inputSchema: {
        question: z.string().trim().min(1).max(1000),
        options: z.array(z.string().trim().min(1).max(64)).min(1).max(10),
      },
    },
    guarded<{ question: string; options: string[] }>("ask_user", async ({ question, options }, signal) => {
      const answer = await tools.ask(key, question, options, signal);
      return text(answer ?? "no answer");
    }),
  );

  server.registerTool(
    "notify",
    {
      description:
        "Post a one-line message in the Telegram topic, outside your answer (progress, a heads-up).",
      inputSchema: { text: z.string().trim().min(1).max(1000) },
    },
    guarded<{ text: string }>("notify", async (args) => {
      await tools.notify(key, args.text.replace(/\s*\n\s*/g, " "));
      return text("posted");
    }),
  );

  server.registerTool(
    "schedule",
    {
      description:
        'Schedule a prompt to run later as a turn in this topic: `at` once (ISO time like 2026-12-03T09:00, or "in 10m"), or `every` occurrence of a 5-field cron expression ("0 9 * * 1-5"). Give exactly one of them.',
      inputSchema: {
        prompt: z.string().trim().min(1).max(100_000),
        at: z.string().trim().min(1).max(64).optional(),
        every: z.string().trim().min(1).max(128).optional(),
      },
    },
    guarded<{ prompt: string; at?: string | undefined; every?: string | undefined }>(
      "schedule",
      async ({ prompt, at, every }) => {
        if ((at === undefined) === (every === undefined))
          return failure('give exactly one of "at" and "every"');
        const when = at !== undefined ? { at } : { every: every as string };
        return text(`scheduled ${describeSchedule(await tools.schedules.add(key, when, prompt))}`);
      },
    ),
  );

  server.registerTool(
    "list_schedules",
    { description: "List this topic's scheduled prompts (id, next run, repeat, prompt).", inputSchema: {} },
    guarded<Record<string, never>>("list_schedules", async () => {
      const list = await tools.schedules.list(key);
      return text(list.length === 0 ? "no schedules" : list.map((s) => describeSchedule(s, 200)).join("\n"));
    }),
  );

  server.registerTool(
    "cancel_schedule",
    {
      description: "Cancel one of this topic's scheduled prompts by its id (see list_schedules).",
      inputSchema: { id: z.number().int().positive() },
    },
    guarded<{ id: number }>("cancel_schedule", async ({ id }) => {
      const refusal = await tools.schedules.cancel(id, key);
      return refusal ? failure(refusal) : text(`cancelled #${id}`);
    }),
  );
}
