import { describe, expect, it } from "vitest";
import { paginate, renderMarkdown } from "../src/telegram/markdown.js";

const html = (md: string) => renderMarkdown(md).map((b) => b.html);

describe("renderMarkdown", () => {
  it("renders inline formatting as Telegram HTML, escaping text", () => {
    expect(
      html("Some **bold**, _it_, ~~gone~~, `a<b && c`, [link](https://x.y/?a=1&b=2) and 1 < 2 & 3 > 2"),
    ).toEqual([
      'Some <b>bold</b>, <i>it</i>, <s>gone</s>, <code>a&lt;b &amp;&amp; c</code>, <a href="https://x.y/?a=1&amp;b=2">link</a> and 1 &lt; 2 &amp; 3 &gt; 2',
    ]);
  });

  it("renders code blocks with their language, headings, quotes, lists and task lists", () => {
    const md =
      "# Plan\n\n```ts\nconst a = 1 < 2;\n```\n\n> quoted **text**\n\n- one\n- two\n  1. nested\n\n- [ ] todo\n- [x] done";
    expect(html(md)).toEqual([
      "<b>Plan</b>",
      '<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>',
      "<blockquote>quoted <b>text</b></blockquote>",
      // One CommonMark list: a blank line between items does not end it.
      "• one\n• two\n  1. nested\n☐ todo\n☑ done",
    ]);
  });

  it("renders tables as preformatted blocks", () => {
    expect(html("| name | n |\n|---|---|\n| a | 10 |\n| bb | 2 |")).toEqual([
      "<pre>name | n\n-----|---\na    | 10\nbb   | 2</pre>",
    ]);
  });

  it("does not link unsafe schemes and shows raw HTML as text", () => {
    expect(html("[x](javascript:alert(1)) <b>hi</b>")).toEqual(["x &lt;b&gt;hi&lt;/b&gt;"]);
  });

  it("renders an unfinished stream (open fence) to valid HTML", () => {
    expect(html("Look:\n\n```py\nprint('hi')")).toEqual([
      "Look:",
      "<pre><code class=\"language-py\">print('hi')</code></pre>",
    ]);
  });

  it("keeps a plain-text twin of every block", () => {
    expect(renderMarkdown("**a** `b`\n\n```\nc\n```").map((b) => b.plain)).toEqual(["a b", "c"]);
  });
});

describe("paginate", () => {
  it("packs blocks into pages under the limit at block boundaries", () => {
    const md = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${"word ".repeat(30)}`).join("\n\n");
    const pages = paginate(renderMarkdown(md), 1000);
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(page.html.length).toBeLessThanOrEqual(1000);
    expect(pages.map((p) => p.html).join("\n\n")).toBe(html(md).join("\n\n"));
  });

  it("cuts a long code block at lines, closing and reopening <pre> in each part", () => {
    const code = Array.from({ length: 400 }, (_, i) => `line ${i} <tag> & more`).join("\n");
    const pages = paginate(renderMarkdown(`\`\`\`js\n${code}\n\`\`\``), 4096);
    expect(pages.length).toBeGreaterThan(2);
    const lines: string[] = [];
    for (const page of pages) {
      expect(page.html.length).toBeLessThanOrEqual(4096);
      expect(page.html.startsWith('<pre><code class="language-js">')).toBe(true);
      expect(page.html.endsWith("</code></pre>")).toBe(true);
      lines.push(...page.plain.split("\n"));
    }
    expect(lines.join("\n")).toBe(code);
  });

  it("cuts an overlong paragraph into plain text pieces without losing words", () => {
    const md = "word ".repeat(3000).trim();
    const pages = paginate(renderMarkdown(md), 4096);
    for (const page of pages) expect(page.html.length).toBeLessThanOrEqual(4096);
    expect(
      pages
        .map((p) => p.plain)
        .join(" ")
        .split(/\s+/),
    ).toHaveLength(3000);
  });

  it("never exceeds the limit with text that escaping grows", () => {
    const md = `\`\`\`\n${"&".repeat(10_000)}\n\`\`\`\n\n${"<".repeat(9_000)}`;
    for (const page of paginate(renderMarkdown(md), 4096)) expect(page.html.length).toBeLessThanOrEqual(4096);
  });
});
