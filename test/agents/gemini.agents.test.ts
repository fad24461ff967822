import { describeAgent } from "./suite.js";

describeAgent("gemini");
