import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AgentModels } from "../domain/agent-models.js";
import type { SessionSetting } from "../domain/session-settings.js";
import type { Logger } from "../logger.js";
import type { AcpClient } from "./acp-client.js";
import type { AgentDescription } from "./turn-types.js";

/**
 * The models and settings the configured agent offers, for /model and /settings: the latest offer
 * seen in any turn's session set-up, or, before the first turn, one learned by starting the agent
 * once (initialize + session/new in a temporary directory).
 */
export type ModelCatalog = ReturnType<typeof createModelCatalog>;

/** Creates the catalog; see {@link ModelCatalog}. */
export function createModelCatalog(deps: { acpClient: AcpClient; logger: Logger }) {
  let latest: AgentModels | undefined;
  let latestSettings: SessionSetting[] | undefined;
  let probed: AgentDescription | undefined;
  let probing: Promise<AgentDescription> | undefined;

  async function probe(): Promise<AgentDescription> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tg-acp-probe-"));
    try {
      return await deps.acpClient.describe(dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** The agent's description, probing it once (concurrent callers share one probe). */
  async function described(): Promise<AgentDescription> {
    if (probed) return probed;
    probing ??= probe().finally(() => {
      probing = undefined;
    });
    probed = await probing;
    deps.logger.debug(
      { models: probed.models?.available.length ?? 0, settings: probed.settings?.length ?? 0 },
      "agent catalog probed",
    );
    return probed;
  }

  return {
    /** Records an offer seen in a turn (session/new|load|resume response, config_option_update). */
    remember(models: AgentModels): void {
      latest = models;
    },

    /** Records a settings offer seen in a turn. */
    rememberSettings(settings: SessionSetting[]): void {
      latestSettings = settings;
    },

    /**
     * The known offer, probing the agent once when none is known; undefined when the agent offers
     * no model choice.
     *
     * @throws AgentTurnError when the probe cannot start or set up the agent.
     */
    async get(): Promise<AgentModels | undefined> {
      if (latest) return latest;
      const found = (await described()).models;
      return latest ?? found;
    },

    /**
     * The known settings offer, probing the agent once when none is known; [] when it offers none.
     *
     * @throws AgentTurnError when the probe cannot start or set up the agent.
     */
    async settings(): Promise<SessionSetting[]> {
      if (latestSettings) return latestSettings;
      const found = (await described()).settings;
      return latestSettings ?? found ?? [];
    },
  };
}
