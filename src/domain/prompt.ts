/** Longest prompt passed to the agent, in characters (a text, or a caption with its transcript). */
export const MAX_PROMPT_CHARS = 100_000;

/**
 * Why a voice note or audio file cannot reach the agent: no speech-to-text is configured and the
 * agent takes no audio (ACP promptCapabilities.audio). One clause, for the topic.
 */
export const NO_AUDIO_ROUTE =
  "voice notes and audio files need TRANSCRIBE_URL (a speech-to-text server) or an agent that takes audio";
