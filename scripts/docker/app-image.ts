import { DOCKER } from "./engine.js";
import { output, run } from "./run.js";

export type AppImage = {
  tag: string;
  /** Wall time of `docker build`, ms. */
  buildMs: number;
  /** Build steps BuildKit took from its cache, of all steps. */
  cachedSteps: number;
  steps: number;
  /** The image's size as `docker image ls` reports it, bytes. */
  sizeBytes: number;
};

/**
 * Builds the repository's real Dockerfile (BuildKit) on `baseImage` (the NODE_IMAGE build argument)
 * with `agentInstall` as AGENT_INSTALL, tagged `tag`. The image the tag named before is removed when
 * the build replaced it (so that repeated runs do not pile up untagged images).
 */
export async function buildAppImage(options: {
  root: string;
  baseImage: string;
  agentInstall: string;
  tag: string;
}): Promise<AppImage> {
  const imageId = async () =>
    (
      await run([DOCKER, "image", "inspect", "--format", "{{.Id}}", options.tag], { allowFailure: true })
    ).stdout.trim();
  const previous = await imageId();
  const build = await run(
    [
      DOCKER,
      "build",
      "--progress=plain",
      "--build-arg",
      `NODE_IMAGE=${options.baseImage}`,
      "--build-arg",
      `AGENT_INSTALL=${options.agentInstall}`,
      "-t",
      options.tag,
      options.root,
    ],
    { env: { ...process.env, DOCKER_BUILDKIT: "1" } },
  );
  // BuildKit's plain progress: "#12 [build 5/8] RUN ..." per step, "#12 CACHED" when cached.
  const log = build.stderr + build.stdout;
  const steps = new Set([...log.matchAll(/^#(\d+) \[[^\]]*\d+\/\d+\]/gm)].map((m) => m[1]));
  const cached = new Set([...log.matchAll(/^#(\d+) CACHED$/gm)].map((m) => m[1]));
  if (previous && previous !== (await imageId())) {
    await run([DOCKER, "image", "rm", previous], { allowFailure: true });
  }
  const size = await output([DOCKER, "image", "inspect", "--format", "{{.Size}}", options.tag]);
  return {
    tag: options.tag,
    buildMs: build.ms,
    steps: steps.size,
    cachedSteps: [...cached].filter((id) => steps.has(id)).length,
    sizeBytes: Number(size),
  };
}

/** Bytes in MB (10^6, as docker reports sizes). */
export const megabytes = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
