import { marked, type Token, type Tokens } from "marked";
import { splitText } from "./split-text.js";

/**
 * One top-level piece of a rendered answer, in Telegram HTML (Bot API "HTML style": b, i, s, code,
 * pre, a, blockquote) and as plain text for the fallback when Telegram cannot parse the HTML.
 */
export type Block = { html: string; plain: string; code?: { lang: string; text: string } };

/** One message's worth of rendered text. */
export type Page = { html: string; plain: string };

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const escapeAttr = (text: string) => escapeHtml(text).replaceAll('"', "&quot;");
const SAFE_LINK = /^(https?:|tg:|mailto:)/i;

type Rendered = { html: string; plain: string };
const joinRendered = (parts: Rendered[], separator = ""): Rendered => ({
  html: parts.map((p) => p.html).join(separator),
  plain: parts.map((p) => p.plain).join(separator),
});
const wrap = (tag: string, inner: Rendered, attrs = ""): Rendered => ({
  html: `<${tag}${attrs}>${inner.html}</${tag}>`,
  plain: inner.plain,
});

function inline(tokens: Token[] | undefined): Rendered {
  return joinRendered((tokens ?? []).map(inlineToken));
}

function inlineToken(token: Token): Rendered {
  switch (token.type) {
    case "strong":
      return wrap("b", inline((token as Tokens.Strong).tokens));
    case "em":
      return wrap("i", inline((token as Tokens.Em).tokens));
    case "del":
      return wrap("s", inline((token as Tokens.Del).tokens));
    case "codespan": {
      const text = (token as Tokens.Codespan).text;
      return { html: `<code>${escapeHtml(text)}</code>`, plain: text };
    }
    case "link": {
      const link = token as Tokens.Link;
      const label = inline(link.tokens);
      if (!SAFE_LINK.test(link.href)) return label;
      return { html: `<a href="${escapeAttr(link.href)}">${label.html}</a>`, plain: label.plain };
    }
    case "image": {
      const image = token as Tokens.Image;
      const alt = image.text || image.href;
      if (!SAFE_LINK.test(image.href)) return { html: escapeHtml(alt), plain: alt };
      return { html: `<a href="${escapeAttr(image.href)}">${escapeHtml(alt)}</a>`, plain: alt };
    }
    case "br":
      return { html: "\n", plain: "\n" };
    case "checkbox":
      return { html: "", plain: "" }; // shown as the list item's ☐/☑ bullet
    case "text": {
      const text = token as Tokens.Text;
      if (text.tokens && text.tokens.length > 0) return inline(text.tokens);
      return { html: escapeHtml(text.text), plain: text.text };
    }
    default: {
      // escape, html and anything newer: show the text as written.
      const text = "text" in token && typeof token.text === "string" ? token.text : token.raw;
      return { html: escapeHtml(text), plain: text };
    }
  }
}

function listBlock(list: Tokens.List, depth: number): Rendered {
  const indent = "  ".repeat(depth);
  const start = typeof list.start === "number" ? list.start : 1;
  const lines = list.items.map((item, index) => {
    const bullet = item.task ? (item.checked ? "☑" : "☐") : list.ordered ? `${start + index}.` : "•";
    const parts = item.tokens
      .filter((t) => t.type !== "checkbox")
      .map((t) => (t.type === "list" ? listBlock(t as Tokens.List, depth + 1) : blockToken(t, depth + 1)))
      .filter((r) => r.plain !== "" || r.html !== "");
    const [first, ...rest] = parts;
    const head = first ?? { html: "", plain: "" };
    const line = { html: `${indent}${bullet} ${head.html}`, plain: `${indent}${bullet} ${head.plain}` };
    return joinRendered([line, ...rest], "\n");
  });
  return joinRendered(lines, "\n");
}

function tableBlock(table: Tokens.Table): Rendered {
  const cell = (c: Tokens.TableCell) => inline(c.tokens).plain;
  const rows = [table.header.map(cell), ...table.rows.map((r) => r.map(cell))];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(" | ")
      .trimEnd();
  const text = [
    line(rows[0] ?? []),
    widths.map((w) => "-".repeat(w)).join("-|-"),
    ...rows.slice(1).map(line),
  ].join("\n");
  return { html: `<pre>${escapeHtml(text)}</pre>`, plain: text };
}

function blockToken(token: Token, depth = 0): Rendered {
  switch (token.type) {
    case "paragraph":
      return inline((token as Tokens.Paragraph).tokens);
    case "text": {
      const text = token as Tokens.Text;
      return text.tokens ? inline(text.tokens) : { html: escapeHtml(text.text), plain: text.text };
    }
    case "heading":
      return wrap("b", inline((token as Tokens.Heading).tokens));
    case "code": {
      const code = token as Tokens.Code;
      return codeBlock(code.lang ?? "", code.text);
    }
    case "list":
      return listBlock(token as Tokens.List, depth);
    case "blockquote": {
      const inner = joinRendered(
        ((token as Tokens.Blockquote).tokens ?? [])
          .filter((t) => t.type !== "space")
          .map((t) => blockToken(t)),
        "\n",
      );
      return { html: `<blockquote>${inner.html}</blockquote>`, plain: inner.plain };
    }
    case "table":
      return tableBlock(token as Tokens.Table);
    case "hr":
      return { html: "———", plain: "———" };
    case "space":
    case "def":
      return { html: "", plain: "" };
    default:
      return { html: escapeHtml(token.raw.trim()), plain: token.raw.trim() };
  }
}

function codeBlock(lang: string, text: string): Rendered {
  const language = (lang.split(/\s/)[0] ?? "").replace(/[^\w+#.-]/g, "");
  const attrs = language === "" ? "" : ` class="language-${escapeAttr(language)}"`;
  return { html: `<pre><code${attrs}>${escapeHtml(text)}</code></pre>`, plain: text };
}

/**
 * Renders the agent's Markdown (CommonMark + GFM, parsed by `marked`) into Telegram HTML blocks:
 * code blocks with language, inline code, bold, italic, strikethrough, links, lists (task lists as
 * ☐/☑), quotes; headings become bold, tables become preformatted blocks. Incomplete Markdown (a
 * stream cut mid-way, an unclosed fence) still renders to valid HTML. Pure.
 */
export function renderMarkdown(markdown: string): Block[] {
  const blocks: Block[] = [];
  for (const token of marked.lexer(markdown)) {
    if (token.type === "code") {
      const code = token as Tokens.Code;
      const lang = code.lang ?? "";
      blocks.push({ ...codeBlock(lang, code.text), code: { lang, text: code.text } });
      continue;
    }
    const rendered = blockToken(token);
    if (rendered.html.trim() !== "" || rendered.plain.trim() !== "") blocks.push(rendered);
  }
  return blocks;
}

/**
 * Packs blocks into pages of at most `limit` characters of HTML (so at most `limit` characters
 * after Telegram parses it), joined by blank lines. A block never splits inside a tag: a code block
 * over the limit is cut at line boundaries and each part closed and reopened as its own `<pre>`;
 * any other block over the limit falls back to plain text cut at paragraph, line or word breaks.
 */
export function paginate(blocks: Block[], limit: number): Page[] {
  const pieces = blocks.flatMap((block) => (block.html.length <= limit ? [block] : splitBlock(block, limit)));
  const pages: Page[] = [];
  let current: Page | undefined;
  for (const piece of pieces) {
    if (current && current.html.length + 2 + piece.html.length <= limit) {
      current.html += `\n\n${piece.html}`;
      current.plain += `\n\n${piece.plain}`;
    } else {
      current = { html: piece.html, plain: piece.plain };
      pages.push(current);
    }
  }
  return pages;
}

function splitBlock(block: Block, limit: number): Page[] {
  if (block.code) {
    const { lang, text } = block.code;
    const room = limit - codeBlock(lang, "").html.length;
    return chunkLines(text, room).map((part) => codeBlock(lang, part));
  }
  return splitText(block.plain, limit).flatMap((plain) =>
    escapeHtml(plain).length <= limit
      ? [{ html: escapeHtml(plain), plain }]
      : splitText(plain, Math.floor(limit / 5)).map((p) => ({ html: escapeHtml(p), plain: p })),
  );
}

/** Cuts code into parts whose escaped HTML fits `room`, at line breaks; an overlong line is cut hard. */
function chunkLines(text: string, room: number): string[] {
  const parts: string[] = [];
  let current: string[] = [];
  let size = 0;
  const lines = text.split("\n").flatMap((line) => {
    if (escapeHtml(line).length <= room) return [line];
    // Escaping grows text at most 5x (&amp;): pieces of room/5 always fit.
    return splitText(line, Math.max(1, Math.floor(room / 5)));
  });
  for (const line of lines) {
    const cost = escapeHtml(line).length + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && size + cost > room) {
      parts.push(current.join("\n"));
      current = [];
      size = 0;
    }
    size += escapeHtml(line).length + (current.length > 0 ? 1 : 0);
    current.push(line);
  }
  if (current.length > 0) parts.push(current.join("\n"));
  return parts;
}
