import { describeAgent } from "./suite.js";

describeAgent("claude-agent-acp");
