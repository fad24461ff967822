import { parse, stringify } from "yaml";

type Service = Record<string, unknown> & {
  environment?: Record<string, string> | string[];
  volumes?: string[];
};

/**
 * The test's compose file, derived from the real docker-compose.yml (its text): the same single
 * service with the same env_file, environment, volume, init, restart policy and grace period, but
 * the prebuilt `image` instead of `build`, host networking instead of `ports` (docker-compose 1.29
 * rejects the two together, and an override file cannot remove a key), and the app on
 * 127.0.0.1:`port` so that it reaches, and is reached from, servers of the test on the host's
 * loopback. `readOnlyData` mounts the data volume read-only; `dataVolumeOptions` become the volume's
 * driver_opts (e.g. a tmpfs of a few KB: a full volume).
 */
export function testComposeFile(
  realYaml: string,
  options: {
    image: string;
    port: number;
    readOnlyData?: boolean;
    dataVolumeOptions?: Record<string, string>;
  },
): { yaml: string; service: string; volume: string } {
  const compose = parse(realYaml) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
  const names = Object.keys(compose.services ?? {});
  if (names.length !== 1) throw new Error(`docker-compose.yml: expected one service, found ${names.length}`);
  const name = names[0] as string;
  const { build: _build, ports: _ports, ...service } = compose.services[name] as Service;
  const environment = service.environment;
  if (Array.isArray(environment) || environment === undefined) {
    throw new Error("docker-compose.yml: expected `environment` as a mapping");
  }
  const [volume, target] = String(service.volumes?.[0] ?? "").split(":");
  if (!volume || !target) throw new Error("docker-compose.yml: expected one volume mount NAME:/data");
  const derived: Service = {
    ...service,
    image: options.image,
    network_mode: "host",
    environment: { ...environment, HOST: "127.0.0.1", PORT: String(options.port) },
    volumes: [`${volume}:${target}${options.readOnlyData ? ":ro" : ""}`],
  };
  const volumes = options.dataVolumeOptions
    ? { ...compose.volumes, [volume]: { driver_opts: options.dataVolumeOptions } }
    : compose.volumes;
  return {
    yaml: stringify({ ...compose, services: { [name]: derived }, volumes }),
    service: name,
    volume,
  };
}
