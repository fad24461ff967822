import pino from "pino";
import { describe, expect, it } from "vitest";
import { createOutbox } from "../src/telegram/outbox.js";

const logger = pino({ level: "silent" });
const botApiError = (error_code: number, description: string, retry_after?: number) =>
  Object.assign(new Error(`${error_code}: ${description}`), {
    response: { ok: false, error_code, description, ...(retry_after ? { parameters: { retry_after } } : {}) },
  });

describe("outbox", () => {
  it("runs a chat's calls in order, paced to its budget, without holding up other chats", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 100, logger });
    const log: Array<[number, number, number]> = [];
    const started = Date.now();
    const call = (chatId: number, n: number) =>
      outbox.send(
        chatId,
        async () => {
          log.push([chatId, n, Date.now() - started]);
          return n;
        },
        "test",
      );
    const results = await Promise.all([call(1, 1), call(1, 2), call(1, 3), call(-2, 1)]);
    expect(results).toEqual([1, 2, 3, 1]);
    const chat1 = log.filter(([chat]) => chat === 1);
    expect(chat1.map(([, n]) => n)).toEqual([1, 2, 3]);
    for (let i = 1; i < chat1.length; i++) {
      expect((chat1[i]?.[2] ?? 0) - (chat1[i - 1]?.[2] ?? 0)).toBeGreaterThanOrEqual(100);
    }
    expect(log.find(([chat]) => chat === -2)?.[2]).toBeLessThan(90);
  });

  it("waits retry_after on 429 and retries the same call", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 10, logger });
    const attempts: number[] = [];
    const started = Date.now();
    const result = await outbox.send(
      5,
      async () => {
        attempts.push(Date.now() - started);
        if (attempts.length === 1) throw botApiError(429, "Too Many Requests: retry after 1", 1);
        return "sent";
      },
      "test",
    );
    expect(result).toBe("sent");
    expect(attempts).toHaveLength(2);
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it("retries 5xx and network errors with backoff, but throws other client errors at once", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 10, logger });
    let serverErrors = 0;
    const recovered = await outbox.send(
      6,
      async () => {
        serverErrors += 1;
        if (serverErrors === 1) throw botApiError(502, "Bad Gateway");
        if (serverErrors === 2)
          throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        return "ok";
      },
      "test",
    );
    expect(recovered).toBe("ok");
    expect(serverErrors).toBe(3);

    let badRequests = 0;
    await expect(
      outbox.send(
        6,
        async () => {
          badRequests += 1;
          throw botApiError(400, "Bad Request: chat not found");
        },
        "test",
      ),
    ).rejects.toThrow("400: Bad Request: chat not found");
    expect(badRequests).toBe(1);
  });

  it("gives up after the configured retries", async () => {
    const outbox = createOutbox({
      groupPerMinute: 600,
      privatePerMinute: 600,
      minIntervalMs: 10,
      retries: 2,
      logger,
    });
    let attempts = 0;
    await expect(
      outbox.send(
        7,
        async () => {
          attempts += 1;
          throw botApiError(500, "Internal Server Error");
        },
        "test",
      ),
    ).rejects.toThrow("500");
    expect(attempts).toBe(3);
  });

  it("keeps a chat within its budget per minute in any sliding window", async () => {
    const outbox = createOutbox({ groupPerMinute: 3, privatePerMinute: 3, minIntervalMs: 0, logger });
    const at: number[] = [];
    const started = Date.now();
    const sends = [1, 2, 3, 4].map(() =>
      outbox.send(
        -9,
        async () => {
          at.push(Date.now() - started);
        },
        "test",
      ),
    );
    await Promise.all(sends.slice(0, 3));
    expect(at).toHaveLength(3);
    expect(at.every((t) => t < 500)).toBe(true); // a burst within the budget goes at once
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(at).toHaveLength(3); // the fourth waits for the window (63 s with the margin)
    void sends[3];
  });
});
