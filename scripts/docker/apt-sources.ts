import fs from "node:fs";
import path from "node:path";

/** One enabled `deb` source of apt: where, which suites, which components. */
export type AptSource = { uris: string[]; suites: string[]; components: string[]; file: string };

/**
 * The enabled binary (`deb`) sources in apt's configuration text: deb822 stanzas of `*.sources` files
 * (sources.list(5), "DEB822-STYLE FORMAT": `Types`, `URIs`, `Suites`, `Components`, `Enabled`) and
 * one-line entries of `*.list` files (`deb [options] uri suite component...`). Files with any other
 * name are ignored, as apt ignores them.
 */
export function parseAptSources(files: ReadonlyArray<{ path: string; text: string }>): AptSource[] {
  const sources: AptSource[] = [];
  for (const file of files) {
    if (file.path.endsWith(".sources")) {
      for (const stanza of file.text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>();
        let last: string | undefined;
        for (const line of stanza.split("\n")) {
          if (line.startsWith("#") || line.trim() === "") continue;
          if (/^\s/.test(line) && last) {
            fields.set(last, `${fields.get(last)} ${line.trim()}`);
            continue;
          }
          const colon = line.indexOf(":");
          if (colon < 0) continue;
          last = line.slice(0, colon).trim().toLowerCase();
          fields.set(last, line.slice(colon + 1).trim());
        }
        const words = (name: string) => (fields.get(name) ?? "").split(/\s+/).filter(Boolean);
        if (!words("types").includes("deb")) continue;
        if (/^(no|false|0)$/i.test(fields.get("enabled") ?? "yes")) continue;
        sources.push({
          uris: words("uris"),
          suites: words("suites"),
          components: words("components"),
          file: file.path,
        });
      }
    } else if (file.path.endsWith(".list")) {
      for (const raw of file.text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
        if (!match) continue;
        const [, uri = "", suite = "", components = ""] = match;
        sources.push({
          uris: [uri],
          suites: [suite],
          components: components.split(/\s+/).filter(Boolean),
          file: file.path,
        });
      }
    }
  }
  return sources;
}

/** The machine's apt configuration files: /etc/apt/sources.list and /etc/apt/sources.list.d/*. */
export function readHostAptSources(root = "/etc/apt"): Array<{ path: string; text: string }> {
  const files = [path.join(root, "sources.list")];
  const dir = path.join(root, "sources.list.d");
  if (fs.existsSync(dir)) files.push(...fs.readdirSync(dir).map((name) => path.join(dir, name)));
  return files
    .filter((file) => fs.existsSync(file) && fs.statSync(file).isFile())
    .map((file) => ({ path: file, text: fs.readFileSync(file, "utf8") }));
}

/**
 * The Debian archive the machine's apt uses for `release` (e.g. bookworm): the sources with `main`
 * whose suite is the release itself, `<release>-updates` or `<release>-security`. `mirror` is the
 * first URI serving the release's own suite, for debootstrap. Throws when apt has none.
 */
export function debianArchive(sources: readonly AptSource[], release: string) {
  const wanted = new Set([release, `${release}-updates`, `${release}-security`]);
  const entries = sources
    .filter((s) => s.components.includes("main"))
    .map((s) => ({ uris: s.uris, suites: s.suites.filter((suite) => wanted.has(suite)) }))
    .filter((s) => s.suites.length > 0 && s.uris.length > 0);
  const mirror = entries.find((s) => s.suites.includes(release))?.uris[0];
  if (!mirror) {
    throw new Error(
      `apt's sources (/etc/apt/sources.list, /etc/apt/sources.list.d) have no Debian ${release} main archive to debootstrap from`,
    );
  }
  return { mirror: mirror.replace(/\/+$/, ""), entries };
}

/** A deb822 `debian.sources` file for these entries (main only, signed by Debian's archive keyring). */
export function debianSourcesFile(entries: ReadonlyArray<{ uris: string[]; suites: string[] }>): string {
  return entries
    .map((e) =>
      [
        "Types: deb",
        `URIs: ${e.uris.join(" ")}`,
        `Suites: ${e.suites.join(" ")}`,
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      ].join("\n"),
    )
    .join("\n\n")
    .concat("\n");
}
