import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { testComposeFile } from "../../scripts/docker/test-compose.js";

const real = fs.readFileSync(new URL("../../docker-compose.yml", import.meta.url), "utf8");
const realService = Object.values(
  (parse(real) as { services: Record<string, Record<string, unknown>> }).services,
)[0];

describe("testComposeFile", () => {
  it("keeps the real service but for build and ports: host networking, the test image, the app on loopback", () => {
    const derived = testComposeFile(real, { image: "tg-acp:docker-test", port: 18080 });
    const compose = parse(derived.yaml) as {
      services: Record<string, Record<string, unknown>>;
      volumes: Record<string, unknown>;
    };
    const service = compose.services[derived.service] ?? {};
    const { build: _build, ports: _ports, environment, ...kept } = realService ?? {};
    expect(service).toEqual({
      ...kept,
      image: "tg-acp:docker-test",
      network_mode: "host",
      environment: { ...(environment as Record<string, string>), HOST: "127.0.0.1", PORT: "18080" },
    });
    expect(service).not.toHaveProperty("ports");
    expect(service).not.toHaveProperty("build");
    expect(Object.keys(compose.volumes)).toEqual([derived.volume]);
  });

  it("mounts the data volume read-only when asked", () => {
    const derived = testComposeFile(real, { image: "x", port: 1, readOnlyData: true });
    const service = Object.values(
      (parse(derived.yaml) as { services: Record<string, { volumes: string[] }> }).services,
    )[0];
    expect(service?.volumes).toEqual([`${derived.volume}:/data:ro`]);
  });

  it("gives the data volume driver options when asked (a tiny tmpfs: a full volume)", () => {
    const options = { type: "tmpfs", device: "tmpfs", o: "size=48k" };
    const derived = testComposeFile(real, { image: "x", port: 1, dataVolumeOptions: options });
    const compose = parse(derived.yaml) as { volumes: Record<string, unknown> };
    expect(compose.volumes).toEqual({ [derived.volume]: { driver_opts: options } });
  });
});
