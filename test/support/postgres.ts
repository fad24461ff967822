import { type SpawnOptions, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

/** A PostgreSQL server started for tests: where it listens and how to get a database on it. */
export type ThrowAwayPostgres = {
  host: string;
  port: number;
  /** The superuser's connection URL for `database` (default: the `postgres` maintenance database). */
  url(database?: string): string;
  /** Creates an empty database and returns its connection URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (immediate shutdown) and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server (fast shutdown: connections are cut) and keeps its data, for {@link resume}. */
  pause(): Promise<void>;
  /** Starts a paused server again, on the same port. */
  resume(): Promise<void>;
};

/** Set to 1 to skip the suites that need PostgreSQL (they fail otherwise when it is missing). */
export const NO_POSTGRES_ENV = "TG_ACP_NO_POSTGRES";

/** Thrown when PostgreSQL cannot be started; the message is one line naming the fix. */
export class PostgresUnavailableError extends Error {
  override name = "PostgresUnavailableError";
}

/** Where Debian's postgresql-NN packages put the server binaries, newest first. */
function debianBinDirs(): string[] {
  const base = "/usr/lib/postgresql";
  if (!fs.existsSync(base)) return [];
  return fs
    .readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(base, v, "bin"));
}

/** The directory holding `initdb` and `pg_ctl`: PATH first, then Debian's package directories. */
export function findPostgresBin(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), ...debianBinDirs()];
  return dirs.find((dir) => ["initdb", "pg_ctl"].every((bin) => fs.existsSync(path.join(dir, bin))));
}

/** uid and gid of the `postgres` OS user, read from /etc/passwd; undefined when there is none. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    const collect = (chunk: Buffer) => void output.push(chunk.toString());
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `${path.basename(command)} exited with ${code}: ${output.join("").trim().slice(-2000)}`,
            ),
          ),
    );
  });
}

/**
 * Starts a throw-away PostgreSQL server: `initdb` into a fresh temporary directory (trust
 * authentication, superuser `postgres`), then `pg_ctl start -w` listening on 127.0.0.1 only, on a
 * free port, with its Unix socket in that directory and durability off (fsync, synchronous_commit
 * and full_page_writes; a test database need not survive a power cut). initdb refuses to run as
 * root, so as root both run as the `postgres` OS user, which must exist. Installs nothing: see
 * scripts/ensure-postgres.sh. The server is also stopped when the process exits.
 *
 * @throws PostgresUnavailableError (one line) when the binaries or the `postgres` user are
 *   missing, or the server does not start.
 */
export async function startPostgres(options: { maxConnections?: number } = {}): Promise<ThrowAwayPostgres> {
  const bin = findPostgresBin();
  if (!bin) {
    throw new PostgresUnavailableError(
      `PostgreSQL's initdb and pg_ctl are not on PATH nor in /usr/lib/postgresql/*/bin: run scripts/ensure-postgres.sh (or set ${NO_POSTGRES_ENV}=1 to skip the Postgres suites)`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : undefined;
  if (asRoot && !user) {
    throw new PostgresUnavailableError(
      `running as root, but there is no "postgres" OS user to run initdb as: run scripts/ensure-postgres.sh (or set ${NO_POSTGRES_ENV}=1)`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-pg-"));
  const dataDir = path.join(dir, "data");
  if (user) fs.chownSync(dir, user.uid, user.gid);
  const spawnAs: SpawnOptions = { cwd: dir, env: { ...process.env, LC_ALL: "C" }, ...(user ?? {}) };
  const pgCtl = path.join(bin, "pg_ctl");
  const host = "127.0.0.1";
  let port = 0;
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    spawnSync(pgCtl, ["-D", dataDir, "-m", "immediate", "-w", "stop"], { ...spawnAs, stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopNow);
  let serverOptions = "";
  const start = () =>
    run(
      pgCtl,
      ["-D", dataDir, "-o", serverOptions, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"],
      spawnAs,
    );
  try {
    await run(
      path.join(bin, "initdb"),
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions", "--no-sync"],
      spawnAs,
    );
    port = await freePort();
    serverOptions = [
      `-c listen_addresses=${host}`,
      `-p ${port}`,
      `-k ${dir}`,
      `-c max_connections=${options.maxConnections ?? 200}`,
      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    ].join(" ");
    await start();
  } catch (err) {
    const log = path.join(dir, "server.log");
    const tail = fs.existsSync(log)
      ? fs.readFileSync(log, "utf8").trim().split("\n").slice(-3).join(" | ")
      : "";
    stopNow();
    throw new PostgresUnavailableError(
      `PostgreSQL did not start: ${(err as Error).message.split("\n")[0]}${tail ? ` (server log: ${tail})` : ""}`,
    );
  }
  const url = (database = "postgres") => `postgres://postgres@${host}:${port}/${database}`;
  let created = 0;
  return {
    host,
    port,
    url,
    async createDatabase(name) {
      const database = name ?? `test_${process.pid}_${++created}`;
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } finally {
        await client.end();
      }
      return url(database);
    },
    async stop() {
      process.removeListener("exit", stopNow);
      stopNow();
    },
    pause: () => run(pgCtl, ["-D", dataDir, "-m", "fast", "-w", "stop"], spawnAs),
    resume: start,
  };
}

/** Whether the Postgres suites are switched off explicitly ({@link NO_POSTGRES_ENV}=1). */
export function postgresSkipped(): boolean {
  return process.env[NO_POSTGRES_ENV] === "1";
}
