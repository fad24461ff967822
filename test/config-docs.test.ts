import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_ENV_NAMES } from "../src/config.js";

const read = (file: string) => fs.readFileSync(new URL(`../${file}`, import.meta.url), "utf8");

describe("configuration docs", () => {
  it("names every variable of the config schema in the README table and in .env.example", () => {
    const readme = read("README.md");
    const table = readme.slice(
      readme.indexOf("## Configuration"),
      readme.indexOf("\n## ", readme.indexOf("## Configuration") + 1),
    );
    const example = read(".env.example");
    expect(CONFIG_ENV_NAMES.length).toBeGreaterThan(10);
    for (const name of CONFIG_ENV_NAMES) {
      expect(table, `README configuration table lacks ${name}`).toMatch(
        new RegExp(`^\\| .*\`${name}\``, "m"),
      );
      expect(example, `.env.example lacks ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });
});
