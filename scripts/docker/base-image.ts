/**
 * A local stand-in for node:22-bookworm-slim, for machines that reach the npm registry and Debian's
 * archive but no image registry: a Debian bookworm minbase root made by debootstrap from the
 * machine's own apt mirror, plus this machine's Node.js binary, npm and headers, a `node` user
 * (uid 1000), the machine's CA bundle and its npm registry settings, so that npm and node-gyp inside
 * a build behave as they do on the host. The Node.js version is the host's (the image tag says it).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { debianArchive, debianSourcesFile, parseAptSources, readHostAptSources } from "./apt-sources.js";
import { DOCKER, TOOLS } from "./engine.js";
import { output, run } from "./run.js";

const RELEASE = "bookworm";
/** Bump when the rootfs recipe below changes (part of the tarball's cache key). */
const ROOTFS_RECIPE = 1;
export const BASE_REPOSITORY = "tg-acp-test-base";

/** ~/.cache/tg-acp (or $XDG_CACHE_HOME/tg-acp): the debootstrap tarballs. */
export const cacheDir = () =>
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "tg-acp");

const sha256 = () => createHash("sha256");

/** sha256 over a directory's files (relative path, mode and content), in a stable order. */
function hashTree(dir: string, hash = sha256()) {
  const walk = (rel: string) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(rel, entry.name);
      const full = path.join(dir, file);
      if (entry.isDirectory()) walk(file);
      else if (entry.isSymbolicLink()) hash.update(`l ${file} ${fs.readlinkSync(full)}\n`);
      else
        hash
          .update(`f ${file} ${fs.statSync(full).mode & 0o111 ? "x" : "-"}\n`)
          .update(fs.readFileSync(full));
    }
  };
  walk("");
  return hash;
}

const hashFile = (file: string, hash = sha256()) => hash.update(fs.readFileSync(file));

/** What docker/npm on the host use: the Node.js install (binary, npm, headers), CA bundle, registry. */
async function hostNode() {
  const nodeBinary = fs.realpathSync(process.execPath);
  const prefix = path.dirname(path.dirname(nodeBinary));
  const npmDir = path.join(prefix, "lib/node_modules/npm");
  const headers = path.join(prefix, "include/node");
  for (const [what, dir] of [
    ["npm", npmDir],
    ["Node.js headers", headers],
  ] as const) {
    if (!fs.existsSync(dir)) throw new Error(`${what} not found at ${dir} (next to ${nodeBinary})`);
  }
  const npmGet = async (key: string) => {
    const value = await output(["npm", "config", "get", key]);
    return value === "null" || value === "undefined" ? "" : value;
  };
  const cafile = (await npmGet("cafile")) || "/etc/ssl/certs/ca-certificates.crt";
  if (!fs.existsSync(cafile)) throw new Error(`the host's CA bundle ${cafile} does not exist`);
  // The registry and how npm reaches it; never credentials.
  const npmrc = [
    `registry=${await npmGet("registry")}`,
    "cafile=/usr/local/share/ca-certificates/host-ca-bundle.crt",
  ];
  const settings: Array<[string, string | undefined]> = [
    ["proxy", (await npmGet("proxy")) || process.env.HTTP_PROXY || process.env.http_proxy],
    ["https-proxy", (await npmGet("https-proxy")) || process.env.HTTPS_PROXY || process.env.https_proxy],
    ["noproxy", (await npmGet("noproxy")) || process.env.NO_PROXY || process.env.no_proxy],
    ["strict-ssl", await npmGet("strict-ssl")],
  ];
  for (const [key, value] of settings) if (value) npmrc.push(`${key}=${value}`);
  return { nodeBinary, npmDir, headers, cafile, npmrc: `${npmrc.join("\n")}\n` };
}

/** Files written into the root after debootstrap, as the Debian images' slim variant does. */
const SLIM_FILES: Record<string, string> = {
  "etc/dpkg/dpkg.cfg.d/docker-slim": [
    "path-exclude /usr/share/doc/*",
    "path-include /usr/share/doc/*/copyright",
    "path-exclude /usr/share/man/*",
    "path-exclude /usr/share/info/*",
    "path-exclude /usr/share/locale/*",
    "path-include /usr/share/locale/locale.alias",
    "",
  ].join("\n"),
  "etc/apt/apt.conf.d/docker-clean": [
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";',
    "",
  ].join("\n"),
  "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
  "etc/apt/apt.conf.d/docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
};

/** Unmounts whatever a failed debootstrap left mounted under `dir` (proc, sys), deepest first. */
async function unmountUnder(dir: string) {
  const mounts = fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run(["umount", "-l", point], { allowFailure: true });
}

/**
 * The bookworm minbase root as a tar file in the cache, made once per mirror, sources and recipe:
 * debootstrap, then docs, man pages, locales, apt lists and caches removed, and the apt sources
 * set to the machine's Debian archive.
 */
async function rootfsTarball(log: (line: string) => void) {
  const archive = debianArchive(parseAptSources(readHostAptSources()), RELEASE);
  const sourcesFile = debianSourcesFile(archive.entries);
  const key = sha256()
    .update(JSON.stringify({ RELEASE, ROOTFS_RECIPE, mirror: archive.mirror, sourcesFile, SLIM_FILES }))
    .digest("hex")
    .slice(0, 16);
  const dir = cacheDir();
  const tarball = path.join(dir, `${RELEASE}-minbase-${key}.tar`);
  if (fs.existsSync(tarball)) return { tarball, mirror: archive.mirror, ms: undefined };

  fs.mkdirSync(dir, { recursive: true });
  const root = fs.mkdtempSync(path.join(dir, "debootstrap-"));
  const started = performance.now();
  log(`debootstrap --variant=minbase ${RELEASE} from ${archive.mirror} (cached afterwards in ${dir})`);
  try {
    await run([TOOLS.debootstrap.file, "--variant=minbase", RELEASE, root, archive.mirror], {
      timeoutMs: 15 * 60_000,
    });
    await unmountUnder(root);
    await run(
      [
        "sh",
        "-ec",
        `cd "$1"
        rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* var/log/*.log var/log/apt/* etc/apt/sources.list
        find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
        find usr/share/doc -mindepth 1 -type d -empty -delete
        rm -rf usr/share/man/* usr/share/info/* usr/share/lintian usr/share/linda
        find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
        : > etc/resolv.conf; : > etc/hostname; : > etc/machine-id`,
        "sh",
        root,
      ],
      {},
    );
    for (const [file, text] of Object.entries({
      ...SLIM_FILES,
      "etc/apt/sources.list.d/debian.sources": sourcesFile,
    })) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    }
    await run(["tar", "--numeric-owner", "-C", root, "-cf", `${tarball}.partial`, "."]);
    fs.renameSync(`${tarball}.partial`, tarball);
  } finally {
    await unmountUnder(root);
    await run(["rm", "-rf", "--one-file-system", root], { allowFailure: true });
    fs.rmSync(`${tarball}.partial`, { force: true });
  }
  return { tarball, mirror: archive.mirror, ms: performance.now() - started };
}

const ENTRYPOINT = `#!/bin/sh
# As the official node images do: a first argument that is a flag or no command runs with node.
set -e
if [ "\${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ]; then
  set -- node "$@"
fi
exec "$@"
`;

const baseDockerfile = (nodeVersion: string) => `FROM scratch
ADD rootfs.tar /
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include-node /usr/local/include/node
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/host-ca-bundle.crt
COPY npmrc /usr/local/etc/npmrc
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && chmod 755 /usr/local/bin/docker-entrypoint.sh \\
 && node --version && npm --version
ENV NODE_VERSION=${nodeVersion} npm_config_nodedir=/usr/local
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
`;

export type BaseImage = {
  tag: string;
  /** The Debian mirror debootstrap used (from the machine's apt sources). */
  mirror: string;
  /** Set when this call ran debootstrap / built the image, ms. */
  debootstrapMs: number | undefined;
  buildMs: number | undefined;
};

/**
 * The base image's tag, building it when no image with this content hash exists: the tag is
 * `tg-acp-test-base:node<version>-bookworm-<hash>`, the hash over the rootfs tarball's key, the Node.js
 * binary, npm, the headers, the CA bundle, the npm settings and this recipe. Older tags of the
 * repository are removed after a new one is built.
 */
export async function ensureBaseImage(log: (line: string) => void): Promise<BaseImage> {
  const rootfs = await rootfsTarball(log);
  const host = await hostNode();
  const nodeVersion = process.versions.node;
  const dockerfile = baseDockerfile(nodeVersion);
  const hash = sha256()
    .update(path.basename(rootfs.tarball))
    .update(dockerfile)
    .update(ENTRYPOINT)
    .update(host.npmrc);
  hashFile(host.nodeBinary, hash);
  hashFile(host.cafile, hash);
  hashTree(host.npmDir, hash);
  hashTree(host.headers, hash);
  const tag = `${BASE_REPOSITORY}:node${nodeVersion}-${RELEASE}-${hash.digest("hex").slice(0, 12)}`;

  const exists = await run([DOCKER, "image", "inspect", "--format", "{{.Id}}", tag], { allowFailure: true });
  if (exists.code === 0) return { tag, mirror: rootfs.mirror, debootstrapMs: rootfs.ms, buildMs: undefined };

  log(`building the base image ${tag}`);
  const context = fs.mkdtempSync(path.join(cacheDir(), "base-context-"));
  try {
    fs.linkSync(rootfs.tarball, path.join(context, "rootfs.tar"));
    fs.copyFileSync(host.nodeBinary, path.join(context, "node"));
    fs.cpSync(host.npmDir, path.join(context, "npm"), { recursive: true, verbatimSymlinks: true });
    fs.cpSync(host.headers, path.join(context, "include-node"), { recursive: true, dereference: true });
    fs.copyFileSync(host.cafile, path.join(context, "host-ca-bundle.crt"));
    fs.writeFileSync(path.join(context, "npmrc"), host.npmrc);
    fs.writeFileSync(path.join(context, "docker-entrypoint.sh"), ENTRYPOINT);
    fs.writeFileSync(path.join(context, "Dockerfile"), dockerfile);
    const build = await run([DOCKER, "build", "-t", tag, context], {
      env: { ...process.env, DOCKER_BUILDKIT: "1" },
    });
    const old = (
      await output([DOCKER, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", BASE_REPOSITORY])
    )
      .split("\n")
      .filter((t) => t !== "" && t !== tag);
    if (old.length > 0) await run([DOCKER, "image", "rm", ...old], { allowFailure: true });
    return { tag, mirror: rootfs.mirror, debootstrapMs: rootfs.ms, buildMs: build.ms };
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}
