import { type ChildProcess, spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import * as acp from "@agentclientprotocol/sdk";
import { listProcs, type ProcInfo, processTree } from "./proc.js";

/**
 * A thin ACP client over a real agent process, for probing agents directly over
 * @agentclientprotocol/sdk 2.4 (no bot in between). It records every session/update, extension
 * notification and permission request with its arrival time, answers permission requests by a
 * policy, and samples the agent's process tree so that children that come and go are known.
 */
export type PermissionPolicy =
  | "allow"
  | "reject"
  | ((request: acp.RequestPermissionRequest) => Promise<acp.RequestPermissionResponse>);

export type AgentLaunch = {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The agent process's own cwd (not necessarily the session's). */
  cwd: string;
};

export type RecordedUpdate = { at: number; sessionId: string; update: acp.SessionUpdate; meta?: unknown };
export type AgentExit = { code: number | null; signal: NodeJS.Signals | null; at: number };

/** What one session/prompt produced. */
export type PromptResult = {
  stopReason: acp.StopReason;
  /** The agent_message_chunk text of the turn, concatenated. */
  text: string;
  /** Each agent_message_chunk of the turn in order, with its `_meta`. */
  chunks: { text: string; meta: unknown; messageId: string | undefined }[];
  updates: RecordedUpdate[];
  permissions: acp.RequestPermissionRequest[];
  /** From sending session/prompt: first agent_message_chunk, and the response. */
  firstChunkMs: number | undefined;
  ms: number;
};

/** What the bridge advertises: no file system or terminal service (see the field notes, 2.2). */
export const CLIENT_CAPABILITIES: acp.ClientCapabilities = {
  fs: { readTextFile: false, writeTextFile: false },
  terminal: false,
};

/** Options of the permission answer for "allow": allow_once, else any allow; "reject": reject_once. */
function choose(request: acp.RequestPermissionRequest, allow: boolean): acp.RequestPermissionResponse {
  const kinds = allow ? ["allow_once", "allow_always"] : ["reject_once", "reject_always"];
  for (const kind of kinds) {
    const option = request.options.find((o) => o.kind === kind);
    if (option) return { outcome: { outcome: "selected", optionId: option.optionId } };
  }
  return { outcome: { outcome: "cancelled" } };
}

export type AcpAgent = Awaited<ReturnType<typeof spawnAcpAgent>>;

/**
 * Spawns the agent in its own process group (detached) and connects an SDK client to its stdio.
 * The agent's stderr is kept (last 64 KiB) for failure messages.
 */
export async function spawnAcpAgent(
  launch: AgentLaunch,
  options: { permission?: PermissionPolicy; clientCapabilities?: acp.ClientCapabilities } = {},
) {
  const spawnedAt = Date.now();
  const child: ChildProcess = spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${launch.command}`);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-65_536);
  });
  child.stdin?.on("error", () => {});
  const exited = new Promise<AgentExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() }));
    child.once("error", () => resolve({ code: null, signal: null, at: Date.now() }));
  });
  let exit: AgentExit | undefined;
  void exited.then((e) => {
    exit = e;
  });

  const updates: RecordedUpdate[] = [];
  const extensions: { at: number; method: string; params: unknown }[] = [];
  const permissions: acp.RequestPermissionRequest[] = [];
  const policy = options.permission ?? "allow";

  // Sample the process tree while the agent runs: children that live briefly are seen too.
  const seen = new Map<number, ProcInfo>();
  let peakRssKb = 0;
  const sample = () => {
    const tree = processTree(pid, listProcs());
    peakRssKb = Math.max(
      peakRssKb,
      tree.reduce((sum, p) => sum + p.rssKb, 0),
    );
    for (const p of tree) if (!seen.has(p.pid)) seen.set(p.pid, p);
    return tree;
  };
  const sampler = setInterval(sample, 250);
  sampler.unref();
  void exited.then(() => clearInterval(sampler));

  const app = acp
    .client({ name: "tg-acp-probe" })
    .onNotification(acp.methods.client.session.update, ({ params }) => {
      updates.push({
        at: Date.now(),
        sessionId: params.sessionId,
        update: params.update,
        meta: params._meta,
      });
    })
    .onRequest(acp.methods.client.session.requestPermission, async ({ params }) => {
      permissions.push(params);
      if (typeof policy === "function") return policy(params);
      return choose(params, policy === "allow");
    })
    .onNotification("*", ({ method, params }) => {
      extensions.push({ at: Date.now(), method, params });
    });
  const stream = acp.ndJsonStream(
    Writable.toWeb(child.stdin as Writable) as WritableStream<Uint8Array>,
    Readable.toWeb(child.stdout as Readable) as ReadableStream<Uint8Array>,
  );
  const connection = app.connect(stream);
  const agent = connection.agent;

  const timeout = (ms: number) => ({
    cancellationSignal: AbortSignal.timeout(ms),
    stopWaitingOnCancel: true,
  });

  /** Fails with the agent's exit and stderr tail when it died instead of answering. */
  async function guard<T>(what: string, run: Promise<T>): Promise<T> {
    try {
      return await run;
    } catch (error) {
      const died = exit ? ` (agent exited: code ${exit.code}, signal ${exit.signal})` : "";
      const data = (error as { data?: unknown }).data;
      const message = `${error instanceof Error ? error.message : JSON.stringify(error)}${data === undefined ? "" : ` ${JSON.stringify(data)}`}`;
      throw new Error(
        `${what} failed${died}: ${message}\n--- agent stderr (tail) ---\n${stderr.slice(-4000)}`,
      );
    }
  }

  const self = {
    pid,
    child,
    spawnedAt,
    agent,
    updates,
    extensions,
    permissions,
    stderr: () => stderr,
    exited,
    get exit() {
      return exit;
    },
    /** Every process of the agent's tree seen so far (sampled every 250 ms, and now). */
    seenProcesses(): ProcInfo[] {
      sample();
      return [...seen.values()];
    },
    /** The agent's process tree right now. */
    tree: () => processTree(pid, listProcs()),
    /** The largest total RSS of the tree seen so far, MiB. */
    peakRssMb: () =>
      Math.round(
        Math.max(
          peakRssKb,
          sample().reduce((s, p) => s + p.rssKb, 0),
        ) / 1024,
      ),

    initialize(timeoutMs = 60_000) {
      return guard(
        "initialize",
        agent.request(
          acp.methods.agent.initialize,
          {
            protocolVersion: acp.PROTOCOL_VERSION,
            clientCapabilities: options.clientCapabilities ?? CLIENT_CAPABILITIES,
            clientInfo: { name: "tg-acp-probe", version: "0.1.0" },
          },
          timeout(timeoutMs),
        ),
      );
    },
    newSession(cwd: string, timeoutMs = 60_000, mcpServers: acp.McpServer[] = []) {
      return guard(
        "session/new",
        agent.request(acp.methods.agent.session.new, { cwd, mcpServers }, timeout(timeoutMs)),
      );
    },
    loadSession(sessionId: string, cwd: string, timeoutMs = 60_000) {
      return guard(
        "session/load",
        agent.request(acp.methods.agent.session.load, { sessionId, cwd, mcpServers: [] }, timeout(timeoutMs)),
      );
    },
    resumeSession(sessionId: string, cwd: string, timeoutMs = 60_000) {
      return guard(
        "session/resume",
        agent.request(
          acp.methods.agent.session.resume,
          { sessionId, cwd, mcpServers: [] },
          timeout(timeoutMs),
        ),
      );
    },
    /** Any other request (set_config_option, legacy session/set_model, session/close ...). */
    call<R>(method: string, params: Record<string, unknown>, timeoutMs = 30_000): Promise<R> {
      return guard(method, agent.request<R, Record<string, unknown>>(method, params, timeout(timeoutMs)));
    },
    async prompt(sessionId: string, text: string, timeoutMs = 120_000): Promise<PromptResult> {
      const from = updates.length;
      const fromPermissions = permissions.length;
      const started = Date.now();
      const response = await guard(
        "session/prompt",
        agent.request(
          acp.methods.agent.session.prompt,
          { sessionId, prompt: [{ type: "text", text }] },
          timeout(timeoutMs),
        ),
      );
      const ms = Date.now() - started;
      // Updates sent just before the response may be dispatched after it; let them land.
      await sleep(50);
      const turn = updates.slice(from).filter((u) => u.sessionId === sessionId);
      const chunks = turn.flatMap((u) =>
        u.update.sessionUpdate === "agent_message_chunk" && u.update.content.type === "text"
          ? [
              {
                text: u.update.content.text,
                meta: u.update._meta,
                messageId: u.update.messageId ?? undefined,
              },
            ]
          : [],
      );
      const first = turn.find((u) => u.update.sessionUpdate === "agent_message_chunk");
      return {
        stopReason: response.stopReason,
        text: chunks.map((c) => c.text).join(""),
        chunks,
        updates: turn,
        permissions: permissions.slice(fromPermissions),
        firstChunkMs: first ? first.at - started : undefined,
        ms,
      };
    },
    cancel(sessionId: string) {
      return agent.notify(acp.methods.agent.session.cancel, { sessionId });
    },
    /** Ends the agent's stdin (how a client says it is done). */
    closeStdin(): void {
      child.stdin?.end();
    },
    /** Resolves with the exit once the agent's own process exits, or undefined after `ms`. */
    async waitExit(ms: number): Promise<AgentExit | undefined> {
      return Promise.race([exited, sleep(ms).then(() => undefined)]);
    },
    /** Signals the agent's process group; false when nothing of it is left. */
    signalGroup(signal: NodeJS.Signals | 0): boolean {
      try {
        process.kill(-pid, signal);
        return true;
      } catch {
        return false;
      }
    },
    /** Ends the agent for good: stdin closed, then SIGTERM and SIGKILL to its group and tree. */
    async dispose(graceMs = 3000): Promise<void> {
      const tree = self.seenProcesses();
      self.closeStdin();
      if (!exit) await self.waitExit(graceMs);
      self.signalGroup("SIGTERM");
      for (const p of tree) {
        try {
          process.kill(p.pid, "SIGTERM");
        } catch {}
      }
      await sleep(200);
      self.signalGroup("SIGKILL");
      for (const p of self.tree()) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {}
      }
      connection.close();
    },
  };
  return self;
}

/** The text of the agent_message_chunk updates in `updates` (e.g. a session/load replay). */
export function messageText(updates: RecordedUpdate[], kind: "agent" | "user" = "agent"): string {
  const wanted = kind === "agent" ? "agent_message_chunk" : "user_message_chunk";
  return updates
    .map((u) =>
      u.update.sessionUpdate === wanted && "content" in u.update && u.update.content.type === "text"
        ? u.update.content.text
        : "",
    )
    .join("");
}
