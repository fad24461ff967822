import { describe, expect, it } from "vitest";
import { debianArchive, debianSourcesFile, parseAptSources } from "../../scripts/docker/apt-sources.js";

const DEB822 = `Types: deb
# a comment inside the stanza
URIs: http://mirror.example.test/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.example.test/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example.test/debian
Suites: bookworm
Components: main
Enabled: no
`;

const ONE_LINE = `# deb http://commented.example.test/debian bookworm main
deb [signed-by=/usr/share/keyrings/x.gpg arch=amd64] https://apt.example.test/nodistro nodistro main
deb http://old-style.example.test/debian/ bookworm main
deb https://cloud.example.test/apt cloud-sdk-bookworm main
`;

describe("parseAptSources", () => {
  it("reads enabled deb entries of .sources (deb822) and .list files and ignores other files", () => {
    const sources = parseAptSources([
      { path: "/etc/apt/sources.list.d/debian.sources", text: DEB822 },
      { path: "/etc/apt/sources.list", text: ONE_LINE },
      {
        path: "/etc/apt/sources.list.d/x.list.disabled",
        text: "deb http://ignored.example.test/debian bookworm main\n",
      },
    ]);
    expect(sources.map((s) => [s.uris, s.suites, s.components])).toEqual([
      [["http://mirror.example.test/debian"], ["bookworm", "bookworm-updates"], ["main", "contrib"]],
      [["http://mirror.example.test/debian-security"], ["bookworm-security"], ["main"]],
      [["https://apt.example.test/nodistro"], ["nodistro"], ["main"]],
      [["http://old-style.example.test/debian/"], ["bookworm"], ["main"]],
      [["https://cloud.example.test/apt"], ["cloud-sdk-bookworm"], ["main"]],
    ]);
  });
});

describe("debianArchive", () => {
  it("takes the mirror of the release's own suite and keeps updates and security, nothing else", () => {
    const sources = parseAptSources([
      { path: "/etc/apt/sources.list.d/debian.sources", text: DEB822 },
      { path: "/etc/apt/sources.list", text: ONE_LINE },
    ]);
    const archive = debianArchive(sources, "bookworm");
    expect(archive.mirror).toBe("http://mirror.example.test/debian");
    expect(archive.entries).toEqual([
      { uris: ["http://mirror.example.test/debian"], suites: ["bookworm", "bookworm-updates"] },
      { uris: ["http://mirror.example.test/debian-security"], suites: ["bookworm-security"] },
      { uris: ["http://old-style.example.test/debian/"], suites: ["bookworm"] },
    ]);
    expect(debianSourcesFile(archive.entries.slice(0, 1))).toBe(
      [
        "Types: deb",
        "URIs: http://mirror.example.test/debian",
        "Suites: bookworm bookworm-updates",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
        "",
      ].join("\n"),
    );
  });

  it("says so when apt has no archive for the release", () => {
    const sources = parseAptSources([{ path: "/etc/apt/sources.list", text: ONE_LINE }]);
    expect(() => debianArchive(sources, "trixie")).toThrow(/no Debian trixie main archive/);
  });
});
