import { config as loadDotenv } from "dotenv";
import { defineConfig } from "drizzle-kit";

loadDotenv({ quiet: true });

// One config for both databases: the embedded SQLite file by default, PostgreSQL when DATABASE_URL
// is set (environment, then .env), as the bot itself chooses. DRIZZLE_DIALECT=sqlite|postgresql
// overrides the choice, so `npm run db:generate` and `db:check` can do both in one go.
const dialect = process.env.DRIZZLE_DIALECT ?? (process.env.DATABASE_URL ? "postgresql" : "sqlite");

export default dialect === "postgresql"
  ? defineConfig({
      dialect: "postgresql",
      schema: "./src/db/pg/schema.ts",
      out: "./drizzle/pg",
      // Generating needs no server; Studio and check connect to DATABASE_URL.
      dbCredentials: { url: process.env.DATABASE_URL || "postgres://localhost:5432/tg_acp" },
      strict: true,
      verbose: true,
    })
  : defineConfig({
      dialect: "sqlite",
      schema: "./src/db/schema.ts",
      out: "./drizzle",
      // Read DATABASE_PATH (environment, then .env) with the app's default, so Studio opens the bot's database.
      dbCredentials: { url: process.env.DATABASE_PATH || "./data/tg-acp.db" },
      strict: true,
      verbose: true,
    });
