/**
 * `npm run import:kiroclaw -- --from PATH --chat-id ID [--workspace-root DIR]`: copies the sessions of
 * kiroclaw's `tg-acp.db` (keyed by user and thread, no chat) into the bot's `sessions` table under
 * that chat id (src/db/kiroclaw-import.ts), in one transaction, never overwriting a row. Writes the
 * SQLite file of DATABASE_PATH (environment, then .env). Prints rows imported / skipped /
 * conflicting and each conflict; exit code 0, 1 on an error, 2 on bad arguments.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { openDatabase } from "../db/database.js";
import { importKiroclawSessions } from "../db/kiroclaw-import.js";
import { readKiroclawSessions } from "../db/kiroclaw-reader.js";
import { topicKeyId } from "../domain/topic-key.js";
import { createOfflineConfig, integerArg, joinNegativeIds } from "./offline-config.js";
import { runCli } from "./run-cli.js";

const USAGE = "usage: import-kiroclaw --from PATH --chat-id ID [--workspace-root DIR]";

await runCli("tg-acp import-kiroclaw", async (env, cwd) => {
  let from: string;
  let chatId: number;
  let workspaceRoot: string | undefined;
  try {
    const { values } = parseArgs({
      args: joinNegativeIds(process.argv.slice(2), ["--chat-id"]),
      options: {
        from: { type: "string" },
        "chat-id": { type: "string" },
        "workspace-root": { type: "string" },
      },
    });
    if (!values.from) throw new Error("--from is required (kiroclaw's tg-acp.db)");
    from = path.resolve(cwd, values.from);
    chatId = integerArg("--chat-id", values["chat-id"]);
    workspaceRoot = values["workspace-root"] ? path.resolve(cwd, values["workspace-root"]) : undefined;
  } catch (err) {
    process.stderr.write(`tg-acp import-kiroclaw: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const config = createOfflineConfig(env, cwd);
  if (config.databaseUrl) {
    process.stderr.write(
      "tg-acp import-kiroclaw: it writes the SQLite file of DATABASE_PATH; unset DATABASE_URL to run it\n",
    );
    return 1;
  }
  const rows = readKiroclawSessions(from);
  const database = openDatabase(config.databasePath);
  try {
    const result = importKiroclawSessions(database, rows, { chatId, workspaceRoot });
    for (const conflict of result.conflicting) {
      process.stdout.write(
        `conflict ${topicKeyId(conflict.key)}: kept session ${conflict.existingSessionId ?? "(none)"}, not ${conflict.sessionId}\n`,
      );
    }
    process.stdout.write(
      `${rows.length} kiroclaw row(s) into ${config.databasePath} under chat ${chatId}: ` +
        `${result.imported} imported, ${result.skipped} skipped (already imported), ${result.conflicting.length} conflicting\n`,
    );
  } finally {
    database.close();
  }
  return 0;
});
