import type { Telegram } from "telegraf";
import { messageThreadIdOf, type TopicKey, threadParam } from "../domain/topic-key.js";
import type { AnswerPages } from "./answer-pages.js";
import type { Step } from "./answer-stream.js";
import { sendWorkspaceFile } from "./file-sender.js";
import type { Outbox } from "./outbox.js";

/** A file the agent put in its answer: a resource_link (a workspace file) or an inline image. */
export type OutgoingFile =
  | { kind: "link"; uri: string; name: string }
  | { kind: "image"; data: string; mimeType: string };

/**
 * Sends one file of the agent's answer into the turn's topic: an image block with sendPhoto, a
 * linked workspace file with sendPhoto / sendDocument (see sendWorkspaceFile).
 *
 * @returns the one-line notice to show instead when the file was refused (outside the workspace,
 *   too large), or undefined.
 * @throws the Bot API error of the upload (after the outbox's retries).
 */
export async function sendTurnFile(
  deps: { telegram: Telegram; outbox: Outbox },
  key: TopicKey,
  workspacePath: string | undefined,
  file: OutgoingFile,
): Promise<string | undefined> {
  const { telegram, outbox } = deps;
  if (file.kind === "image") {
    const source = Buffer.from(file.data, "base64");
    await outbox.send(
      key.chatId,
      () => telegram.sendPhoto(key.chatId, { source }, threadParam(key.threadId)),
      "sendPhoto",
    );
    return undefined;
  }
  if (!workspacePath) return undefined;
  return sendWorkspaceFile(
    deps,
    { chatId: key.chatId, messageThreadId: messageThreadIdOf(key.threadId) },
    workspacePath,
    file.uri,
  );
}

/** How often the typing action is renewed until the first text shows, ms (Telegram shows it ~5 s). */
const TYPING_INTERVAL_MS = 4_000;

/**
 * The "typing…" action in a topic (Bot API sendChatAction), renewed every 4 s from `start` until
 * `stop`. Failures are logged at debug: the action is cosmetic.
 */
export function createTypingAction(
  telegram: Telegram,
  key: TopicKey,
  onError: (err: unknown) => void,
): { start(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const send = () =>
    void telegram.sendChatAction(key.chatId, "typing", threadParam(key.threadId)).catch(onError);
  return {
    start() {
      send();
      timer = setInterval(send, TYPING_INTERVAL_MS);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * The step that sends a whole answer as one `answer.md` document (sendDocument) into the turn's
 * topic, with its length as the caption: an answer past MAX_ANSWER_CHARS, or one whose posting
 * /cancel or Stop cut.
 */
export function answerDocumentStep(
  deps: { telegram: Telegram; outbox: Outbox },
  key: TopicKey,
  pages: Pick<AnswerPages, "markdown" | "length">,
): Step {
  const source = Buffer.from(pages.markdown(), "utf8");
  const chatId = key.chatId;
  return {
    run: async () => {
      await deps.outbox.send(
        chatId,
        () =>
          deps.telegram.sendDocument(
            chatId,
            { source, filename: "answer.md" },
            {
              ...threadParam(key.threadId),
              caption: `The whole answer (${pages.length().toLocaleString("en")} characters).`,
            },
          ),
        { label: "answer.md", priority: "message", topic: key.threadId },
      );
    },
  };
}
