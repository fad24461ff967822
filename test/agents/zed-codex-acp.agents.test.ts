import { describeAgent } from "./suite.js";

describeAgent("zed-codex-acp");
