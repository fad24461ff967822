import { describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";

const TOKEN = "7000000001:AAH-secret-token-0123456789abcdef";
const SECRET = "webhook-secret_0123";

function capture(format: "json" | "pretty") {
  const lines: string[] = [];
  const logger = createLogger({
    level: "info",
    secrets: [TOKEN, SECRET],
    format,
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

/** What Telegraf's network errors look like: the request URL, with the token, in the message. */
const fetchError = () => new Error(`request to https://api.telegram.org/bot${TOKEN}/sendMessage failed`);

describe("logger", () => {
  it("writes JSON lines with secrets redacted in fields and error messages", () => {
    const { logger, lines } = capture("json");
    logger.error({ err: fetchError(), header: SECRET }, `calling with ${TOKEN}`);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry.msg).toBe("calling with [REDACTED]");
    expect(entry.header).toBe("[REDACTED]");
    expect(entry.err.message).toContain("/bot[REDACTED]/sendMessage");
    expect(entry.service).toBe("tg-acp");
  });

  it("writes readable lines in pretty format, with the same redaction", () => {
    const { logger, lines } = capture("pretty");
    logger.info({ topic: { chatId: -100, threadId: 7 } }, "prompt queued");
    logger.error({ err: fetchError(), header: SECRET }, `calling with ${TOKEN}`);
    const text = lines.join("");
    expect(lines).toHaveLength(2);
    expect(() => JSON.parse(lines[0] ?? "")).toThrow();
    expect(lines[0]).toMatch(/INFO.*prompt queued/);
    expect(lines[0]).toContain(`"threadId": 7`);
    expect(lines[1]).toMatch(/ERROR.*calling with \[REDACTED\]/);
    expect(text).toContain("/bot[REDACTED]/sendMessage");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("\u001b["); // no colours unless asked for
  });
});
