import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AgentModels } from "../domain/agent-models.js";
import type { Logger } from "../logger.js";
import type { AcpClient } from "./acp-client.js";

/**
 * The models the configured agent offers, for /model: the latest offer seen in any turn's session
 * set-up, or, before the first turn, one learned by starting the agent once (initialize +
 * session/new in a temporary directory).
 */
export type ModelCatalog = ReturnType<typeof createModelCatalog>;

/** Creates the catalog; see {@link ModelCatalog}. */
export function createModelCatalog(deps: { acpClient: AcpClient; logger: Logger }) {
  let latest: AgentModels | undefined;
  let probing: Promise<AgentModels | undefined> | undefined;

  async function probe(): Promise<AgentModels | undefined> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tg-acp-probe-"));
    try {
      return (await deps.acpClient.describe(dir)).models;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  return {
    /** Records an offer seen in a turn (session/new|load|resume response, config_option_update). */
    remember(models: AgentModels): void {
      latest = models;
    },

    /**
     * The known offer, probing the agent once when none is known; undefined when the agent offers
     * no model choice.
     *
     * @throws AgentTurnError when the probe cannot start or set up the agent.
     */
    async get(): Promise<AgentModels | undefined> {
      if (latest) return latest;
      probing ??= probe().finally(() => {
        probing = undefined;
      });
      const found = await probing;
      if (found && !latest) latest = found;
      deps.logger.debug({ models: found?.available.length ?? 0 }, "model catalog probed");
      return latest ?? found;
    },
  };
}
