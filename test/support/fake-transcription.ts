import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One request the fake transcription server took: the multipart fields it checked, and the file. */
export type TranscriptionRequest = {
  authorization: string | undefined;
  model: string;
  responseFormat: string | undefined;
  file: { name: string; type: string; bytes: Buffer };
  at: number;
};

/** How the server answers the next requests. */
type Behaviour =
  | { kind: "text"; text: string; delayMs: number }
  | { kind: "fail"; status: number; body: string }
  | { kind: "hang" }
  | { kind: "hold"; released: Promise<string> };

const PATH = "/v1/audio/transcriptions";

/**
 * A fake OpenAI-compatible speech-to-text server on 127.0.0.1 ("Create transcription",
 * `POST /v1/audio/transcriptions`). It checks what a real one needs: multipart/form-data with a
 * `file` part that has a file name and bytes, and a `model` field (400 otherwise, OpenAI's error
 * shape), and, when started with `apiKey`, `Authorization: Bearer <apiKey>` (401 otherwise, echoing
 * the key it got, as OpenAI's "Incorrect API key provided" does). It answers `{ "text": ... }`
 * (`answer`, optionally after a delay), fails with a status (`fail`), never answers (`hang`, until
 * the client gives up or the server closes) or answers when the test says (`hold`, then `release`).
 * Other paths get 404.
 */
export async function startFakeTranscription(options: { apiKey?: string } = {}) {
  const requests: TranscriptionRequest[] = [];
  let behaviour: Behaviour = { kind: "text", text: "hello from the fake transcription", delayMs: 0 };
  /** Requests whose client went away before the answer (a timeout or a cancel on the bot's side). */
  let abandoned = 0;
  let release: (text: string) => void = () => {};

  const server = http.createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const error = (status: number, message: string) =>
      reply(status, { error: { message, type: "invalid_request_error", code: null } });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== "POST" || req.url !== PATH) return error(404, `no route ${req.method} ${req.url}`);
    const authorization = req.headers.authorization;
    if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
      return error(401, `Incorrect API key provided: ${authorization?.replace(/^Bearer /, "") ?? "none"}`);
    }
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.startsWith("multipart/form-data")) return error(400, "expected multipart/form-data");
    const form = await new Response(Buffer.concat(chunks), {
      headers: { "content-type": contentType },
    }).formData();
    const file = form.get("file");
    const model = form.get("model");
    if (file === null || typeof file === "string" || file.name === "" || file.size === 0) {
      return error(400, "file: a file part with a name and content is required");
    }
    if (typeof model !== "string" || model === "") return error(400, "model: required");
    const format = form.get("response_format");
    requests.push({
      authorization,
      model,
      responseFormat: typeof format === "string" ? format : undefined,
      file: { name: file.name, type: file.type, bytes: Buffer.from(await file.arrayBuffer()) },
      at: Date.now(),
    });
    res.once("close", () => {
      if (!res.writableEnded) abandoned += 1;
    });
    const now = behaviour;
    if (now.kind === "hang") return;
    if (now.kind === "hold") return reply(200, { text: await now.released });
    if (now.kind === "fail") return reply(now.status, now.body);
    if (now.delayMs > 0) await sleep(now.delayMs);
    reply(200, { text: now.text });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const fake = {
    /** The endpoint, for TRANSCRIBE_URL. */
    url: `http://127.0.0.1:${port}${PATH}`,
    requests,
    /** Requests whose client closed the connection before an answer. */
    get abandoned() {
      return abandoned;
    },
    /** Answers `{ text }` from now on, after `delayMs`. */
    answer(text: string, delayMs = 0): void {
      behaviour = { kind: "text", text, delayMs };
    },
    /** Answers with `status` and `body` (an OpenAI-style error by default) from now on. */
    fail(status: number, body = JSON.stringify({ error: { message: "The server had an error" } })): void {
      behaviour = { kind: "fail", status, body };
    },
    /** Never answers from now on. */
    hang(): void {
      behaviour = { kind: "hang" };
    },
    /** Holds the answers of the next requests until {@link release}. */
    hold(): void {
      behaviour = { kind: "hold", released: new Promise((resolve) => (release = resolve)) };
    },
    /** Answers the held requests with `text` (and later ones at once). */
    release(text: string): void {
      release(text);
      behaviour = { kind: "text", text, delayMs: 0 };
    },
    /** Waits until `condition` holds (polling every 10 ms). */
    async until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline)
          throw new Error(`fake transcription: condition not met in ${timeoutMs} ms`);
        await sleep(10);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** The fake's handle, as returned by {@link startFakeTranscription}. */
export type FakeTranscription = Awaited<ReturnType<typeof startFakeTranscription>>;
