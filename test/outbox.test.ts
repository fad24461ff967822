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

describe("outbox priorities", () => {
  const slow = () => new Promise((resolve) => setTimeout(resolve, 30));

  it("sends command replies and messages before intermediate edits, and final texts before waiting edits", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 10, logger });
    const order: string[] = [];
    const call = (name: string) => async () => {
      order.push(name);
      await slow();
      return name;
    };
    const first = outbox.send(-1, call("busy"), { label: "t", priority: "message" });
    const edit = outbox.send(-1, call("edit"), { label: "t", priority: "edit", key: "m:1", topic: 1 });
    const message = outbox.send(-1, call("message"), { label: "t", priority: "message" });
    const command = outbox.send(-1, call("command"), { label: "t", priority: "command" });
    await Promise.all([first, edit, message, command]);
    expect(order).toEqual(["busy", "command", "message", "edit"]);
  });

  it("replaces a waiting edit of the same message by the newer one, never sending the stale one", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 10, logger });
    const sent: string[] = [];
    const blocker = outbox.send(-1, async () => slow(), "busy");
    const edits = ["v1", "v2", "v3"].map((text) =>
      outbox.send(
        -1,
        async () => {
          sent.push(text);
          return text;
        },
        { label: "t", priority: "edit", key: "m:7", topic: 1 },
      ),
    );
    // v1 was admitted at once; v2 waited and was replaced by v3.
    expect(await Promise.all([blocker, ...edits])).toEqual([undefined, "v1", "v3", "v3"]);
    expect(sent).toEqual(["v1", "v3"]);
  });

  it("lets a final text take a waiting edit's place, and promotes a waiting edit when its stream ends", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 10, logger });
    const sent: string[] = [];
    const record = (text: string) => async () => {
      sent.push(text);
      await slow();
      return text;
    };
    const inFlight = outbox.send(-1, record("a-edit-1"), {
      label: "t",
      priority: "edit",
      key: "m:1",
      topic: 1,
    });
    const waiting = outbox.send(-1, record("a-edit-2"), {
      label: "t",
      priority: "edit",
      key: "m:1",
      topic: 1,
    });
    const final = outbox.send(-1, record("a-final"), {
      label: "t",
      priority: "message",
      key: "m:1",
      topic: 1,
    });
    const other = outbox.send(-1, record("b-edit"), { label: "t", priority: "edit", key: "m:2", topic: 2 });
    const promoted = outbox.send(-1, record("c-edit"), {
      label: "t",
      priority: "edit",
      key: "m:3",
      topic: 3,
    });
    outbox.promote(-1, "m:3");
    expect(await Promise.all([inFlight, waiting, final, other, promoted])).toEqual([
      "a-edit-1",
      "a-final",
      "a-final",
      "b-edit",
      "c-edit",
    ]);
    expect(sent).toEqual(["a-edit-1", "a-final", "c-edit", "b-edit"]);
  });

  it("lets the topics of a group take turns for intermediate edits", async () => {
    const outbox = createOutbox({ groupPerMinute: 600, privatePerMinute: 600, minIntervalMs: 5, logger });
    const sent: string[] = [];
    const edit = (topic: number, n: number) =>
      outbox.send(
        -1,
        async () => {
          sent.push(`${topic}.${n}`);
        },
        { label: "t", priority: "edit", key: `m:${topic}-${n}`, topic },
      );
    await Promise.all([edit(1, 1), edit(1, 2), edit(1, 3), edit(2, 1), edit(2, 2), edit(3, 1)]);
    // Topic 1 came first with three edits; the others are not left behind it.
    expect(sent.slice(0, 3).sort()).toEqual(["1.1", "2.1", "3.1"]);
    expect(sent).toHaveLength(6);
  });

  it("keeps part of a chat's budget free of intermediate edits for urgent calls", async () => {
    const outbox = createOutbox({ groupPerMinute: 20, privatePerMinute: 20, minIntervalMs: 0, logger });
    const order: string[] = [];
    for (let n = 0; n < 30; n++) {
      void outbox.send(-1, async () => void order.push(`edit ${n}`), {
        label: "t",
        priority: "edit",
        key: `m:${n}`,
        topic: n % 3,
      });
    }
    while (order.length < 17) await new Promise((resolve) => setTimeout(resolve, 5));
    await outbox.send(-1, async () => void order.push("command"), { label: "t", priority: "command" });
    // 17 of the 20 calls a minute may be edits: the 18th waits for the window, the command does not.
    expect(order.filter((name) => name.startsWith("edit"))).toHaveLength(17);
    expect(order.at(-1)).toBe("command");
  });
});
