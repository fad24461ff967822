import { describe, expect, it } from "vitest";
import { ADOPT_CALLBACK_PREFIX } from "../src/telegram/agent-sessions-command.js";
import { ANSWER_CALLBACK_PREFIX, RETRY_CALLBACK_PREFIX } from "../src/telegram/interrupted.js";
import { MODEL_CALLBACK_PREFIX } from "../src/telegram/model-command.js";
import { PERMISSION_CALLBACK_PREFIX } from "../src/telegram/permission-prompts.js";
import { QUESTION_CALLBACK_PREFIX } from "../src/telegram/question-prompts.js";
import { SCHEDULE_CANCEL_PREFIX } from "../src/telegram/schedule-command.js";
import { SETTINGS_CALLBACK_PREFIX } from "../src/telegram/settings-command.js";
import { SEND_NOW_CALLBACK_PREFIX, STOP_CALLBACK_PREFIX } from "../src/telegram/stop-button.js";

describe("callback_data prefixes", () => {
  it("are distinct and none starts another (the router takes the first prefix that matches)", () => {
    const prefixes = [
      ADOPT_CALLBACK_PREFIX,
      ANSWER_CALLBACK_PREFIX,
      RETRY_CALLBACK_PREFIX,
      MODEL_CALLBACK_PREFIX,
      "mi:",
      PERMISSION_CALLBACK_PREFIX,
      QUESTION_CALLBACK_PREFIX,
      SCHEDULE_CANCEL_PREFIX,
      SETTINGS_CALLBACK_PREFIX,
      SEND_NOW_CALLBACK_PREFIX,
      STOP_CALLBACK_PREFIX,
    ];
    const clashes = prefixes.flatMap((a, i) =>
      prefixes.filter((b, j) => i !== j && b.startsWith(a)).map((b) => `${a} ${b}`),
    );
    expect(clashes).toEqual([]);
  });
});
