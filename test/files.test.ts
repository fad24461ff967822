import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useBotHarness } from "./support/harness.js";
import { asCommand, fixtureUpdate, topicTextUpdate } from "./support/updates.js";

const h = useBotHarness();
const T = 2391;
const WORKSPACE = () => path.join(h.dir, "workspaces", "-1001234567890", String(T), "111222333");

type PhotoSize = { file_id: string; file_size?: number };

function photoUpdate() {
  const update = fixtureUpdate("supergroup_topic_photo_caption");
  const sizes = (update.message as unknown as { photo: PhotoSize[] }).photo;
  const largest = sizes.at(-1) as PhotoSize;
  return { update, largest };
}

describe("photos and documents to the agent", () => {
  it("saves the largest photo into the workspace and links it when the agent takes no images", async () => {
    const bot = await h.start();
    const { update, largest } = photoUpdate();
    const bytes = Buffer.from("fake jpeg bytes");
    h.api.addFile(largest.file_id, bytes);
    await bot.postUpdate(update);
    const answer = await h.waitForText(T, /^echo: Bug screenshot/);
    const match = /\[file: (photo-\S+\.jpg) file:\/\/(\S+)\]$/.exec(answer);
    expect(match?.[1]).toMatch(/^photo-/);
    const saved = match?.[2] ?? "";
    expect(saved.startsWith(path.join(WORKSPACE(), "attachments"))).toBe(true);
    expect(fs.readFileSync(saved)).toEqual(bytes);
    expect(fs.statSync(saved).mode & 0o777).toBe(0o600);
  });

  it("sends the photo as an image block when the agent accepts images", async () => {
    const bot = await h.start({ agentFlags: ["--image"] });
    const { update, largest } = photoUpdate();
    h.api.addFile(largest.file_id, Buffer.from("jpeg"));
    await bot.postUpdate(update);
    await h.waitForText(T, /^echo: Bug screenshot \[image: image\/jpeg\]$/);
  });

  it("passes a document with its name, and refuses one over 20 MB without calling the agent", async () => {
    const bot = await h.start();
    const doc = fixtureUpdate("supergroup_topic_document");
    const document = (doc.message as unknown as { document: { file_id: string; file_size: number } })
      .document;
    h.api.addFile(document.file_id, Buffer.from("docx"));
    await bot.postUpdate(doc);
    const threadId = (doc.message as { message_thread_id?: number }).message_thread_id;
    await h.waitForText(threadId, /^echo: I sent you document\.docx\. \[file: document\.docx file:\/\//);

    const big = fixtureUpdate("supergroup_topic_document");
    (big.message as unknown as { document: { file_size: number } }).document.file_size = 25 * 1024 * 1024;
    await bot.app.idle();
    const before = h.agentEvents().length;
    await bot.postUpdate(big);
    await h.waitForText(threadId, /over the 20 MB/);
    expect(h.agentEvents().length).toBe(before);
  });
});

describe("files back to the user", () => {
  it("sends a workspace file the agent links, and an image it returns", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("file report.txt", { threadId: T }));
    await h.api.until(() => h.api.callsOf("sendDocument").length === 1);
    const doc = h.api.callsOf("sendDocument")[0];
    expect(doc?.payload.message_thread_id).toBe(T);
    expect(doc?.payload.document).toEqual({ filename: "report.txt", size: "hello from report.txt\n".length });

    await bot.postUpdate(topicTextUpdate("image", { threadId: T }));
    await h.api.until(() => h.api.callsOf("sendPhoto").length === 1);
    expect(h.api.callsOf("sendPhoto")[0]?.payload.message_thread_id).toBe(T);
  });

  it("refuses a linked file outside the workspace", async () => {
    const bot = await h.start();
    await bot.postUpdate(topicTextUpdate("outside", { threadId: T }));
    await h.waitForText(T, /is not a file inside this topic's workspace/);
    expect(h.api.callsOf("sendDocument")).toEqual([]);
  });

  it("/get sends a file from the workspace and refuses paths outside it", async () => {
    const bot = await h.start();
    fs.mkdirSync(WORKSPACE(), { recursive: true });
    fs.writeFileSync(path.join(WORKSPACE(), "notes.md"), "# notes\n");
    await bot.postUpdate(asCommand(topicTextUpdate("/get notes.md", { threadId: T })));
    await h.api.until(() => h.api.callsOf("sendDocument").length === 1);
    expect(h.api.callsOf("sendDocument")[0]?.payload.document).toEqual({ filename: "notes.md", size: 8 });

    await bot.postUpdate(asCommand(topicTextUpdate("/get ../../../../../etc/hostname", { threadId: T })));
    await h.waitForText(T, /etc\/hostname is not a file inside this topic's workspace/);
    fs.symlinkSync("/etc/hostname", path.join(WORKSPACE(), "link"));
    await bot.postUpdate(asCommand(topicTextUpdate("/get link", { threadId: T })));
    await h.waitForText(T, /^📎 link is not a file inside/);
    expect(h.api.callsOf("sendDocument")).toHaveLength(1);
  });
});

describe("files keep their place", () => {
  it("runs a document's turn before a text sent after it, even when getFile is slow", async () => {
    const bot = await h.start();
    const doc = fixtureUpdate("supergroup_topic_document");
    const message = doc.message as unknown as { document: { file_id: string }; message_thread_id: number };
    h.api.addFile(message.document.file_id, Buffer.from("docx"));
    h.api.slow("getFile", 400);
    await bot.postUpdate(doc);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bot.postUpdate(topicTextUpdate("after the document", { threadId: message.message_thread_id }));
    await bot.app.idle();
    const prompts = h
      .agentEvents()
      .filter((e) => e.event === "prompt-start")
      .map((e) => String(e.text));
    expect(prompts).toEqual([expect.stringMatching(/^I sent you document\.docx/), "after the document"]);
  });

  it("keeps two files of the same name apart, each turn reading its own", async () => {
    const bot = await h.start();
    const contents = ["first content", "second content"];
    for (const [i, content] of contents.entries()) {
      const doc = fixtureUpdate("supergroup_topic_document");
      const message = doc.message as unknown as { message_id: number; document: { file_id: string } };
      message.message_id += i;
      message.document.file_id = `same-name-${i}`;
      h.api.addFile(message.document.file_id, Buffer.from(content));
      await bot.postUpdate(doc);
    }
    await bot.app.idle();
    const files = h
      .agentEvents()
      .filter((e) => e.event === "prompt-start")
      .map((e) => String((e.attached as string[])[0]).replace(/^\[file: \S+ file:\/\/(\S+)\]$/, "$1"));
    expect(new Set(files).size).toBe(2);
    expect(files.map((file) => fs.readFileSync(file, "utf8"))).toEqual(contents);
  });

  it("offers a turn whose download was cut by a shutdown for Retry after the restart", async () => {
    const bot = await h.start({ env: { SHUTDOWN_GRACE_MS: "100" } });
    const doc = fixtureUpdate("supergroup_topic_document");
    const message = doc.message as unknown as { document: { file_id: string }; message_thread_id: number };
    h.api.addFile(message.document.file_id, Buffer.from("docx"));
    h.api.slow("file", 10_000);
    expect(await bot.postUpdate(doc)).toBe(200);
    await h.api.until(() => h.api.callsOf("getFile").length === 1);
    await bot.stop();
    h.api.slow("file", 0);
    await h.start();
    const offer = await h.api.waitFor(
      (c) =>
        c.method === "sendMessage" && /stopped before it finished this prompt/.test(String(c.payload.text)),
    );
    expect(offer.payload.message_thread_id).toBe(message.message_thread_id);
    expect(String(offer.payload.text)).toContain("I sent you document.docx");
  });
});
