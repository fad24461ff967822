import { describeAgent } from "./suite.js";

describeAgent("codex-acp");
