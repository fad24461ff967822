import { describe, expect, it } from "vitest";
import { unavailableReason } from "../src/db/pg/pg-errors.js";

describe("unavailableReason", () => {
  it("sees an unreachable server through Drizzle's wrapper (the pg error as its cause)", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const wrapped = new Error('Failed query: insert into "seen_updates" ...', { cause: refused });
    expect(unavailableReason(wrapped)).toBe("PostgreSQL cannot be reached (ECONNREFUSED)");
    expect(
      unavailableReason(new Error("Failed query: ...", { cause: new Error("duplicate key") })),
    ).toBeUndefined();
    expect(unavailableReason(Object.assign(new Error("x"), { code: "23505" }))).toBeUndefined();
  });
});
