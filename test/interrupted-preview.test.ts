import { describe, expect, it } from "vitest";
import { promptPreview } from "../src/telegram/interrupted.js";

const file = (name: string, audio?: boolean) => ({
  fileId: "f",
  name,
  mimeType: "application/octet-stream",
  messageId: 5,
  ...(audio ? { audio } : {}),
});

describe("the prompt quoted under an interrupted turn", () => {
  it("quotes the text, cut at 200 characters", () => {
    expect(promptPreview({ prompt: "fix the tests", files: null })).toBe("fix the tests");
    expect(promptPreview({ prompt: "x".repeat(250), files: null })).toBe(`${"x".repeat(200)}…`);
  });

  it("names the files of a prompt without text (a caption-less voice note is never «»)", () => {
    expect(promptPreview({ prompt: "", files: [file("5-voice.ogg", true)] })).toBe("🎤 5-voice.ogg");
    expect(promptPreview({ prompt: " ", files: [file("a.png"), file("b.txt")] })).toBe("📎 a.png, 📎 b.txt");
  });

  it("keeps the caption when there is one", () => {
    expect(promptPreview({ prompt: "what is this?", files: [file("a.png")] })).toBe("what is this?");
  });
});
