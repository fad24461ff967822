/** Deterministic Markdown of exactly `length` characters: paragraphs of words and code blocks. */
export function streamText(length: number): string {
  const words = [
    "agent",
    "topic",
    "stream",
    "edit",
    "budget",
    "chunk",
    "session",
    "render",
    "**bold**",
    "`code`",
  ];
  let out = "";
  for (let paragraph = 0; out.length < length; paragraph++) {
    if (paragraph % 5 === 4) {
      out += `\`\`\`ts\nconst line${paragraph} = ${paragraph} < 10 && "x";\n\`\`\`\n\n`;
      continue;
    }
    const line: string[] = [];
    for (let i = 0; i < 40; i++) line.push(words[(paragraph * 7 + i) % words.length] as string);
    out += `${line.join(" ")}.\n\n`;
  }
  return out.slice(0, length);
}

/** The words a reader sees in delivered text or in Markdown: tags, entities and Markdown syntax removed. */
export function visibleWords(text: string): string[] {
  return text
    .replace(/<[^>]+>/g, "")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&")
    .replace(/```\w*/g, "")
    .replace(/\*\*|`/g, "")
    .split(/\s+/)
    .filter((w) => w !== "");
}
