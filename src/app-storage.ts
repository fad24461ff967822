import fs from "node:fs";
import type { Config } from "./config.js";
import { openPgStore } from "./db/pg/pg-store.js";
import { openSqliteStore } from "./db/sqlite-store.js";
import type { Store } from "./domain/store.js";
import type { Logger } from "./logger.js";
import { StartupError } from "./operator-error.js";

/**
 * The app's store (part of the composition root): the cluster's (ROLE=web|worker), else with
 * DATABASE_URL the Postgres store of one process, else the SQLite file; then makes sure
 * WORKSPACE_BASE_PATH is a writable directory (mode 0700 when created).
 *
 * @throws DatabaseOpenError when the database cannot be opened or migrated; StartupError (one line)
 *   when the workspace base is not writable.
 */
export async function openAppStore(
  config: Config,
  clusterStore: Store | undefined,
  logger: Logger,
): Promise<Store> {
  // ROLE=all with DATABASE_URL: the Postgres store, one process, the in-process queue.
  const opened =
    clusterStore ??
    (config.databaseUrl
      ? await openPgStore(config.databaseUrl, {
          applicationName: "tg-acp",
          onPoolError: (err) => logger.warn({ err }, "a PostgreSQL connection was lost"),
          logger,
        })
      : openSqliteStore(config.databasePath, { logger }));
  try {
    fs.mkdirSync(config.workspaceBasePath, { recursive: true, mode: 0o700 });
    fs.accessSync(config.workspaceBasePath, fs.constants.W_OK);
  } catch (err) {
    throw new StartupError(
      `WORKSPACE_BASE_PATH ${config.workspaceBasePath} is not a writable directory: ${(err as Error).message}`,
    );
  }
  return opened;
}
