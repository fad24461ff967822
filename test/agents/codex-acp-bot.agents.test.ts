import { describeAgentThroughBot } from "./bot-suite.js";

describeAgentThroughBot("codex-acp");
