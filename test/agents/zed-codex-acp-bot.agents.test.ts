import { describeAgentThroughBot } from "./bot-suite.js";

describeAgentThroughBot("zed-codex-acp");
