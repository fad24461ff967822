import { describeAgentThroughBot } from "./bot-suite.js";

describeAgentThroughBot("claude-agent-acp");
