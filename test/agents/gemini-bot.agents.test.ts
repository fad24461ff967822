import { describeAgentThroughBot } from "./bot-suite.js";

describeAgentThroughBot("gemini");
