import type { ModelCatalog } from "../acp/model-catalog.js";
import type { AgentCommand } from "../domain/agent-commands.js";
import { UserFacingError } from "../domain/errors.js";
import { MODEL_CATEGORY, type SessionSetting } from "../domain/session-settings.js";
import type { Store } from "../domain/store.js";
import { type TopicKey, topicKeyId } from "../domain/topic-key.js";
import { AUTO_MODEL } from "../domain/turn.js";
import type { TopicSettings } from "./types.js";

/**
 * A topic's session controls that are not turns: the settings the agent offers (the topic's latest
 * offer, else any topic's, else the agent started once to ask) with the topic's choices, and
 * choosing one (validated against the offer; stored; applied after every session set-up from the
 * next turn on). Model settings are the /model choice (the `model` column).
 */
export function createSessionControls(deps: {
  store: Store;
  /** The agent's catalog; absent where no turn runs (ROLE=web), which then knows only turns' offers. */
  models: ModelCatalog | undefined;
  /** Ends the process kept alive for a key (its settings changed). */
  release: (key: TopicKey) => void;
}) {
  const { store } = deps;
  /** The latest settings offer of each topic key (this run of the bot). */
  const offers = new Map<string, SessionSetting[]>();
  /** The latest commands of each topic key, and of any topic (this run of the bot). */
  const commands = new Map<string, AgentCommand[]>();
  let latestCommands: AgentCommand[] = [];

  /** The topic's offer; the agent's errors when it must be probed are UserFacingErrors (AgentTurnError). */
  const offerFor = async (key: TopicKey): Promise<SessionSetting[]> => {
    const known = offers.get(topicKeyId(key));
    if (known) return known;
    if (!deps.models)
      throw new UserFacingError("this process runs no agent (ROLE=web) to ask for its settings");
    return deps.models.settings();
  };

  return {
    /** Records the settings offer a turn of `key` saw (set-up response, switch answer, update). */
    remember(key: TopicKey, settings: SessionSetting[]): void {
      offers.set(topicKeyId(key), settings);
      deps.models?.rememberSettings(settings);
    },

    /** Records the slash commands the agent announced in a turn of `key`. */
    rememberCommands(key: TopicKey, list: AgentCommand[]): void {
      commands.set(topicKeyId(key), list);
      latestCommands = list;
    },

    /** The agent's slash commands for `key`: its topic's latest, else any topic's; [] before any. */
    agentCommands: (key: TopicKey): AgentCommand[] => commands.get(topicKeyId(key)) ?? latestCommands,

    /**
     * The topic's settings, each with `current` as the topic chose it (or as the agent reports it
     * when the topic chose nothing), and the topic's session id.
     *
     * @throws UserFacingError when the agent must be started to ask and cannot be.
     */
    async settings(key: TopicKey): Promise<TopicSettings> {
      const [offer, row] = await Promise.all([offerFor(key), store.session(key)]);
      const chosen = row?.settings ?? {};
      const model = row?.model ?? AUTO_MODEL;
      return {
        sessionId: row?.sessionId ?? null,
        settings: offer.map((setting) => {
          const choice =
            setting.category === MODEL_CATEGORY
              ? model === AUTO_MODEL
                ? undefined
                : model
              : chosen[setting.id];
          return choice === undefined ? setting : { ...setting, current: choice };
        }),
      };
    },

    /**
     * Stores `value` for the topic's setting `settingId` (a model setting becomes the /model choice).
     * Returns a one-line refusal (unknown setting or value) and changes nothing then.
     */
    async choose(key: TopicKey, settingId: string, value: string): Promise<string | undefined> {
      const offer = await offerFor(key);
      const setting = offer.find((s) => s.id === settingId);
      if (!setting) return `The agent offers no setting "${clip(settingId)}".`;
      const match = setting.values.find(
        (v) => v.value === value || v.name.toLowerCase() === value.toLowerCase(),
      );
      if (!match) {
        return `"${clip(value)}" is not a value of ${setting.name}; valid: ${setting.values.map((v) => v.value).join(", ")}.`;
      }
      if (setting.category === MODEL_CATEGORY) await store.setModel(key, match.value);
      else await store.setSetting(key, setting.id, match.value);
      // A kept-alive process has the old settings applied: the next turn sets the session up anew.
      deps.release(key);
      return undefined;
    },
  };
}

/** The session controls; see {@link createSessionControls}. */
export type SessionControls = ReturnType<typeof createSessionControls>;

/** User input as echoed in a reply: at most 64 characters, then "…". */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
