/**
 * `npm run test:docker`, before the tests: Debian's engine, compose v1 and debootstrap (installed
 * when missing), a running engine (started here when none runs, and stopped at the end), the local
 * base image (see scripts/docker/base-image.ts) and the app image built from the real Dockerfile
 * with a real agent from npm. After the tests: every figure measured, as one table.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { buildAppImage, megabytes } from "../../scripts/docker/app-image.js";
import { ensureBaseImage } from "../../scripts/docker/base-image.js";
import { type Engine, ensureDebianPackages, ensureEngine } from "../../scripts/docker/engine.js";
import { seconds } from "../../scripts/docker/run.js";
import { formatFigures, readFigures, recordFigure } from "./figures.js";
import { AGENT, APP_IMAGE, APP_IMAGE_NO_AGENT } from "./settings.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    docker: { appImage: string; figuresFile: string; engineVersion: string };
  }
}

const log = (line: string) => process.stdout.write(`[docker] ${line}\n`);

export default async function setup(project: TestProject) {
  const started = performance.now();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-acp-docker-test-"));
  const figuresFile = path.join(stateDir, "figures.jsonl");
  const figure = (name: string, value: string, note?: string) =>
    recordFigure(figuresFile, note === undefined ? { name, value } : { name, value, note });

  let engine: Engine | undefined;
  const teardown = async () => {
    await engine?.stop();
    if (engine?.started) log("stopped the dockerd this test started");
    figure("whole docker test", seconds(performance.now() - started));
    process.stdout.write(`\n[docker] figures\n${formatFigures(readFigures(figuresFile))}\n`);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    const aptStarted = performance.now();
    const installed = await ensureDebianPackages(log);
    if (installed.length > 0) {
      figure("apt-get install", seconds(performance.now() - aptStarted), installed.join(" "));
    }
    try {
      engine = await ensureEngine(stateDir);
    } catch (err) {
      // One line, then a failure: a machine without an engine never passes silently.
      process.stderr.write(`[docker] ${(err as Error).message}\n`);
      throw err;
    }
    log(
      `Docker engine ${engine.version} (${engine.started ? "dockerd started by this test" : "already running"})`,
    );

    const base = await ensureBaseImage(log);
    figure(
      "base image",
      base.tag,
      [
        base.debootstrapMs === undefined ? "rootfs from cache" : `debootstrap ${seconds(base.debootstrapMs)}`,
        base.buildMs === undefined ? "image from cache" : `built in ${seconds(base.buildMs)}`,
        `mirror ${base.mirror}`,
      ].join(", "),
    );

    log(`building the app image on ${base.tag} with ${AGENT.install}`);
    const app = await buildAppImage({
      root: ROOT,
      baseImage: base.tag,
      agentInstall: AGENT.install,
      tag: APP_IMAGE,
    });
    figure("app image build", seconds(app.buildMs), `${app.cachedSteps} of ${app.steps} steps cached`);
    figure("app image size", megabytes(app.sizeBytes), `with ${AGENT.pkg}`);
    const bare = await buildAppImage({
      root: ROOT,
      baseImage: base.tag,
      agentInstall: "",
      tag: APP_IMAGE_NO_AGENT,
    });
    figure(
      "app image size, no agent",
      megabytes(bare.sizeBytes),
      `AGENT_INSTALL="", built in ${seconds(bare.buildMs)}`,
    );

    project.provide("docker", { appImage: app.tag, figuresFile, engineVersion: engine.version });
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
