import { setTimeout as sleep } from "node:timers/promises";
import * as acp from "@agentclientprotocol/sdk";
import type { Logger } from "../logger.js";
import { type AgentExit, spawnAgent } from "./agent-process.js";
import { unknownUpdateKind } from "./session-update.js";

/** How long a failed request waits to learn whether the agent exited, ms. */
const EXIT_SETTLE_MS = 250;

/** A model an agent offers, as its id and display name. */
export type AgentModel = { id: string; name: string };

/** What an agent told about itself in initialize and session/new. */
export type AgentProbe = {
  /** initialize `agentInfo` (name, version), when the agent sends it. */
  agentInfo: { name: string; version?: string } | undefined;
  protocolVersion: number;
  capabilities: acp.AgentCapabilities;
  /** initialize `authMethods` ids (what `session/new` may need first). */
  authMethods: string[];
  /**
   * The models session/new offers: from a configOption of category "model" (ACP "Session Config
   * Options"), else from the legacy `models` field (currentModelId, availableModels); undefined when
   * the agent offers neither.
   */
  models:
    | { current: string | undefined; available: AgentModel[]; source: "configOptions" | "models" }
    | undefined;
};

/** The probe failed; `message` is one line (the step, and why: exit, timeout or the agent's error). */
export class AgentProbeError extends Error {
  override name = "AgentProbeError";
}

/**
 * Starts the agent in `cwd` (a scratch directory: session/new may write there), sends initialize and
 * session/new (ACP "Initialization", "Session Setup"), then session/close when advertised, and ends
 * the process gently. No prompt is sent, so no model is called.
 *
 * @param options.timeoutMs limit of each request, ms; options.stopGraceMs as in AgentProcess.stop.
 * @throws AgentProbeError when the agent cannot be started, exits, times out or answers with an error.
 */
export async function probeAgent(options: {
  argv: readonly [string, ...string[]];
  env: NodeJS.ProcessEnv;
  cwd: string;
  timeoutMs: number;
  stopGraceMs: number;
  logger: Logger;
}): Promise<AgentProbe> {
  const proc = spawnAgent({ argv: options.argv, cwd: options.cwd, env: options.env, logger: options.logger });
  // Updates an SDK of this version does not know would be rejected noisily: drop them first.
  const readable = proc.stream.readable.pipeThrough(
    new TransformStream<acp.AnyMessage, acp.AnyMessage>({
      transform(message, controller) {
        if (unknownUpdateKind(message) === undefined) controller.enqueue(message);
      },
    }),
  );
  const connection = acp
    .client({ name: "tg-acp-doctor" })
    .onNotification(acp.methods.client.session.update, () => {})
    .onNotification("*", () => {})
    .connect({ readable, writable: proc.stream.writable });
  const step = async <T>(name: string, request: Promise<T>): Promise<T> => {
    const exited = proc.exited.then((exit): never => {
      throw new AgentProbeError(
        `the agent ${describeExit(exit)} during ${name}${stderrNote(proc.stderrTail())}`,
      );
    });
    try {
      return await Promise.race([request, exited]);
    } catch (err) {
      if (err instanceof AgentProbeError) throw err;
      // A closed pipe (EPIPE, "connection closed") usually means the agent died: wait a moment to say how.
      const exit = await Promise.race([proc.exited, sleep(EXIT_SETTLE_MS).then(() => undefined)]);
      const why = exit
        ? `the agent ${describeExit(exit)} during ${name}`
        : (err as Error | null)?.name === "TimeoutError"
          ? `${name} timed out after ${options.timeoutMs} ms`
          : `${name} failed: ${oneLine(err)}`;
      throw new AgentProbeError(`${why}${stderrNote(proc.stderrTail())}`, { cause: err });
    }
  };
  const limit = () => ({
    cancellationSignal: AbortSignal.timeout(options.timeoutMs),
    stopWaitingOnCancel: true,
  });
  try {
    const init = await step(
      "initialize",
      connection.agent.request(
        acp.methods.agent.initialize,
        {
          protocolVersion: acp.PROTOCOL_VERSION,
          clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
          clientInfo: { name: "tg-acp-doctor", version: "0.1.0" },
        },
        limit(),
      ),
    );
    const capabilities = init.agentCapabilities ?? {};
    const created = await step(
      "session/new",
      connection.agent.request(acp.methods.agent.session.new, { cwd: options.cwd, mcpServers: [] }, limit()),
    );
    if (capabilities.sessionCapabilities?.close) {
      await connection.agent
        .request(acp.methods.agent.session.close, { sessionId: created.sessionId }, limit())
        .catch(() => {});
    }
    return {
      agentInfo: init.agentInfo ?? undefined,
      protocolVersion: init.protocolVersion,
      capabilities,
      authMethods: (init.authMethods ?? []).map((m) => m.id),
      models: modelsOf(created),
    };
  } finally {
    connection.close();
    await proc.stop(options.stopGraceMs);
  }
}

/**
 * The models a session/new (or session/load) response offers: a configOption with category "model"
 * (flat or grouped select options), else the legacy `models` field. Pure.
 */
export function modelsOf(response: unknown): AgentProbe["models"] {
  const r = response as {
    configOptions?: Array<{
      category?: string | null;
      type?: string;
      currentValue?: unknown;
      options?: Array<{ value?: string; name?: string; options?: Array<{ value: string; name: string }> }>;
    }> | null;
    models?: { currentModelId?: string; availableModels?: Array<{ modelId: string; name?: string }> } | null;
  } | null;
  const option = r?.configOptions?.find((o) => o.category === "model" && o.type === "select");
  if (option) {
    type SelectOption = { value?: string; name?: string };
    const flat = (option.options ?? []).flatMap((o): SelectOption[] => o.options ?? [o]);
    return {
      current: typeof option.currentValue === "string" ? option.currentValue : undefined,
      available: flat.map((o) => ({ id: String(o.value), name: String(o.name ?? o.value) })),
      source: "configOptions",
    };
  }
  if (r?.models?.availableModels) {
    return {
      current: r.models.currentModelId,
      available: r.models.availableModels.map((m) => ({ id: m.modelId, name: m.name ?? m.modelId })),
      source: "models",
    };
  }
  return undefined;
}

function describeExit(exit: AgentExit): string {
  if (exit.error) return `could not be started (${exit.error.message})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

function stderrNote(tail: string): string {
  const last = tail.trim().split("\n").at(-1)?.trim();
  return last ? ` (its stderr: ${last.slice(0, 200)})` : "";
}

function oneLine(err: unknown): string {
  const e = err as { message?: string; data?: unknown } | null;
  const message = e?.message ?? String(err);
  const data = e?.data === undefined ? "" : ` ${JSON.stringify(e.data)}`;
  return `${message}${data}`.replace(/\s+/g, " ").slice(0, 300);
}
