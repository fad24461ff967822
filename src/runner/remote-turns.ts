import type { AgentModels } from "../domain/agent-models.js";
import { UserFacingError } from "../domain/errors.js";
import type { TopicKey } from "../domain/topic-key.js";
import type { TurnControl } from "../domain/turn-control.js";
import type { TopicStatus } from "./types.js";

/**
 * /status's running turn and last turn of a topic whose turns run on a worker (ROLE=web); both
 * unknown when no worker holds the topic's shard now.
 */
export async function remoteStatus(
  control: TurnControl,
  key: TopicKey,
): Promise<Pick<TopicStatus, "runningForMs" | "last">> {
  const status = await control.status(key);
  const last = status?.last;
  return {
    runningForMs: status?.runningForMs,
    last: last && { ...last, finishedAt: new Date(last.finishedAt) },
  };
}

/**
 * The models the agent offers, asked of any worker (ROLE=web starts no agent).
 *
 * @throws UserFacingError when no worker answered.
 */
export async function remoteModels(control: TurnControl | undefined): Promise<AgentModels | undefined> {
  const answer = await control?.models();
  if (!answer) throw new UserFacingError("no worker answered; try again in a moment");
  return answer.models;
}
