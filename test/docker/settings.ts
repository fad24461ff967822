import { AGENT_RECIPES } from "../agents/agents.js";
import { AGENT_PACKAGES, type AgentId } from "../agents/install.js";

/**
 * The agent the container test installs into the image (AGENT_INSTALL) and runs (ACP_AGENT_COMMAND),
 * at the version the real-agents suite pins: codex-acp by default, the lighter of the two current
 * adapters and one that runs on Node.js 20 (the machine's Node.js, which the local base image
 * carries). TG_ACP_DOCKER_AGENT=claude-agent-acp or gemini measures another one.
 */
const id = (process.env.TG_ACP_DOCKER_AGENT ?? "codex-acp") as AgentId;
const pkg = AGENT_PACKAGES[id];
if (!pkg) throw new Error(`TG_ACP_DOCKER_AGENT=${id}: not one of ${Object.keys(AGENT_PACKAGES).join(", ")}`);

export const AGENT = {
  /** Its recipe in test/agents/agents.ts (environment and config for the fake model). */
  recipe: id,
  pkg: `${pkg.name}@${pkg.version}`,
  install: `npm install -g ${pkg.name}@${pkg.version}`,
  command: [pkg.bin, ...AGENT_RECIPES[id].args].join(" "),
};

/** The app image the test builds, and the same Dockerfile without an agent (AGENT_INSTALL=""). */
export const APP_IMAGE = `tg-acp:docker-test-${id}`;
export const APP_IMAGE_NO_AGENT = "tg-acp:docker-test-no-agent";

/** The compose project of the test's containers and volumes. */
export const COMPOSE_PROJECT = "tg-acp-docker-test";
