import { config as loadDotenv } from "dotenv";
import { defineConfig } from "drizzle-kit";

loadDotenv({ quiet: true });

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  // Read DATABASE_PATH (environment, then .env) with the app's default, so Studio opens the bot's database.
  dbCredentials: { url: process.env.DATABASE_PATH || "./data/tg-acp.db" },
  strict: true,
  verbose: true,
});
