import { describe, expect, it } from "vitest";
import { splitText, TELEGRAM_TEXT_LIMIT } from "../src/telegram/split-text.js";

describe("splitText", () => {
  it("keeps short text whole and gives nothing for empty text", () => {
    expect(splitText("hello")).toEqual(["hello"]);
    expect(splitText("")).toEqual([]);
    expect(splitText("x".repeat(TELEGRAM_TEXT_LIMIT))).toHaveLength(1);
  });

  it("splits at a paragraph break, then a line break, then a space", () => {
    const para = `${"a".repeat(60)}\n\n${"b".repeat(30)}`;
    expect(splitText(para, 80)).toEqual(["a".repeat(60), "b".repeat(30)]);
    const lines = `${"a".repeat(60)}\n${"b".repeat(30)}`;
    expect(splitText(lines, 80)).toEqual(["a".repeat(60), "b".repeat(30)]);
    const words = `${"a".repeat(60)} ${"b".repeat(30)}`;
    expect(splitText(words, 80)).toEqual(["a".repeat(60), "b".repeat(30)]);
  });

  it("cuts hard when there is no separator, and never inside a surrogate pair", () => {
    const parts = splitText("x".repeat(10_000));
    expect(parts.map((p) => p.length)).toEqual([4096, 4096, 1808]);
    const emoji = "😀".repeat(50); // 100 UTF-16 units
    const cut = splitText(`a${emoji}`, 10);
    expect(cut.every((p) => p.length <= 10)).toBe(true);
    expect(cut.join("")).toBe(`a${emoji}`);
    expect(cut[0]).toBe(`a${"😀".repeat(4)}`);
  });

  it("never exceeds the limit and loses no words of a long answer", () => {
    const words = Array.from({ length: 3000 }, (_, i) => `word${i}${i % 17 === 0 ? "\n" : ""}`);
    const text = words.join(" ");
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.length <= TELEGRAM_TEXT_LIMIT)).toBe(true);
    expect(parts.join(" ").split(/\s+/)).toEqual(text.split(/\s+/));
  });
});
