import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeModel, startFakeModel } from "../support/fake-model.js";

let model: FakeModel;
beforeEach(async () => {
  model = await startFakeModel();
});
afterEach(async () => {
  await model.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${model.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** The `data:` payloads of an SSE body, parsed (except `[DONE]`). */
async function sse(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

const BASH = {
  name: "Bash",
  input_schema: {
    type: "object",
    properties: { command: { type: "string" }, description: { type: "string" } },
  },
};

describe("fake model", () => {
  it("answers OpenAI Responses as codex reads it: created, deltas, item done, completed with usage", async () => {
    const events = await sse(
      await post("/v1/responses", {
        model: "gpt-5.5",
        stream: true,
        input: [
          {
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: "Remember this number: 77" }],
          },
        ],
        tools: [{ type: "function", name: "exec_command", parameters: {} }],
      }),
    );
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("response.created");
    expect(types).toContain("response.output_item.added");
    expect(types.at(-2)).toBe("response.output_item.done");
    expect(types.at(-1)).toBe("response.completed");
    const text = events
      .filter((e) => e.type === "response.output_text.delta")
      .map((e) => e.delta)
      .join("");
    expect(text).toBe("Got it, I memorized 77.");
    expect(
      (events.at(-1)?.response as { usage?: { total_tokens: number } } | undefined)?.usage?.total_tokens,
    ).toBeGreaterThan(0);
    expect(model.calls[0]).toMatchObject({
      api: "responses",
      model: "gpt-5.5",
      stream: true,
      userTurns: ["Remember this number: 77"],
    });
  });

  it("recalls a number from the earlier user turns it is sent (Anthropic Messages, streaming)", async () => {
    const events = await sse(
      await post("/v1/messages?beta=true", {
        model: "claude-x",
        stream: true,
        tools: [BASH],
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "<system-reminder>noise</system-reminder>" },
              { type: "text", text: "Remember this number: 4321" },
            ],
          },
          { role: "assistant", content: [{ type: "text", text: "Got it, I memorized 4321." }] },
          { role: "user", content: "What number did I ask you to remember?" },
        ],
      }),
    );
    expect(events.map((e) => e.type)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      ...events.filter((e) => e.type === "content_block_delta").map(() => "content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const text = events.map((e) => (e.delta as { text?: string } | undefined)?.text ?? "").join("");
    expect(text).toBe("You asked me to remember 4321.");
    expect(model.calls[0]?.userTurns).toEqual([
      "Remember this number: 4321",
      "What number did I ask you to remember?",
    ]);
  });

  it("emits a call of the offered shell tool, then answers with the tool's result (Anthropic)", async () => {
    const first = (await (
      await post("/v1/messages", {
        model: "m",
        tools: [BASH],
        system: "Primary working directory: /tmp/ws",
        messages: [{ role: "user", content: "run shell: echo hi > out.txt" }],
      })
    ).json()) as {
      content: { type: string; name: string; id: string; input: Record<string, string> }[];
      stop_reason: string;
    };
    expect(first.stop_reason).toBe("tool_use");
    expect(first.content[0]).toMatchObject({
      type: "tool_use",
      name: "Bash",
      input: { command: "echo hi > out.txt" },
    });
    const second = (await (
      await post("/v1/messages", {
        model: "m",
        tools: [BASH],
        messages: [
          { role: "user", content: "run shell: echo hi > out.txt" },
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: first.content[0]?.id, content: "done" }],
          },
        ],
      })
    ).json()) as { content: { text: string }[] };
    expect(second.content[0]?.text).toBe("Tool Bash returned: done");
    expect(model.calls[0]?.cwd).toBe("/tmp/ws");
  });

  it("writes files with the agent's own write tool: Gemini write_file with an absolute path in the told cwd", async () => {
    const events = await sse(
      await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", {
        contents: [
          {
            role: "user",
            parts: [
              { text: "<session_context>\n- **Workspace Directories:**\n  - /tmp/ws\n</session_context>" },
              { text: "write file notes.txt with hello" },
            ],
          },
        ],
        tools: [
          {
            functionDeclarations: [
              { name: "write_file", parametersJsonSchema: { properties: { file_path: {}, content: {} } } },
            ],
          },
        ],
      }),
    );
    const parts = events.flatMap(
      (e) => (e.candidates as { content: { parts: Record<string, unknown>[] } }[])[0]?.content.parts ?? [],
    );
    expect(parts[0]).toEqual({
      functionCall: { name: "write_file", args: { file_path: "/tmp/ws/notes.txt", content: "hello" } },
    });
  });

  it("uses codex's freeform apply_patch, and its shell when no write tool is offered", async () => {
    const patch = (await (
      await post("/v1/responses", {
        input: "write file a.txt",
        tools: [{ type: "custom", name: "apply_patch" }],
      })
    ).json()) as { output: Record<string, unknown>[] };
    expect(patch.output[0]).toMatchObject({ type: "custom_tool_call", name: "apply_patch" });
    expect(patch.output[0]?.input).toContain("*** Add File: a.txt\n+written by the fake model");
    const shell = (await (
      await post("/v1/responses", {
        input: "write file b.txt with x",
        tools: [
          {
            type: "function",
            name: "exec_command",
            parameters: { properties: { cmd: {}, sandbox_permissions: {} } },
          },
        ],
      })
    ).json()) as { output: { arguments: string }[] };
    expect(JSON.parse(shell.output[0]?.arguments ?? "{}")).toMatchObject({
      cmd: "printf '%s\\n' 'x' > 'b.txt'",
      sandbox_permissions: "require_escalated",
    });
  });

  it("speaks Chat Completions, streaming with usage and [DONE]", async () => {
    const response = await post("/v1/chat/completions", {
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    });
    const body = await response.clone().text();
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const chunks = await sse(response);
    const text = chunks
      .map((c) => (c.choices as { delta: { content?: string } }[])[0]?.delta.content ?? "")
      .join("");
    expect(text).toBe("echo: hi");
    expect(chunks.at(-1)?.usage).toBeDefined();
  });

  it("answers token counts and model lists, and logs an unknown path with a 404", async () => {
    expect(await (await post("/v1/messages/count_tokens", { messages: [] })).json()).toHaveProperty(
      "input_tokens",
    );
    expect(await (await post("/v1beta/models/g:countTokens", { contents: [] })).json()).toHaveProperty(
      "totalTokens",
    );
    expect(
      ((await (await fetch(`${model.url}/v1/models`)).json()) as { data: unknown[] }).data.length,
    ).toBeGreaterThan(0);
    expect((await fetch(`${model.url}/v1/nothing-here`)).status).toBe(404);
    expect(model.calls.at(-1)).toMatchObject({ api: "unknown", url: "/v1/nothing-here" });
  });

  it("answers slowly, and fails, when the prompt says so (only on main requests)", async () => {
    const started = Date.now();
    await (
      await post("/v1/messages", { tools: [BASH], messages: [{ role: "user", content: "slow 300 please" }] })
    ).json();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const failed = await post("/v1/messages", {
      tools: [BASH],
      messages: [{ role: "user", content: "fail 429" }],
    });
    expect(failed.status).toBe(429);
    expect(failed.headers.get("retry-after")).toBe("1");
    const side = await post("/v1/messages", { messages: [{ role: "user", content: "fail 429" }] });
    expect(side.status).toBe(200);
  });

  it("answers scripted replies on the next main requests", async () => {
    model.enqueue({ fail: 500 }, { text: "scripted" });
    const tools = [BASH];
    expect((await post("/v1/messages", { tools, messages: [{ role: "user", content: "x" }] })).status).toBe(
      500,
    );
    const ok = (await (
      await post("/v1/messages", { tools, messages: [{ role: "user", content: "x" }] })
    ).json()) as {
      content: { text: string }[];
    };
    expect(ok.content[0]?.text).toBe("scripted");
  });

  it("refuses a peer that is not 127.0.0.1 or ::1 with 403", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${model.url}/v1/models`, { localAddress: "127.0.0.2" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
