// Docker plumbing shared by the services and the container runtime: testcontainers loaded on first use
// (labs without services never pay for it), the labels every resource the grader creates carries, and
// the translation of "no Docker" into a message that says what to do.
import type { ContainerRuntimeClient } from 'testcontainers';
import { GraderError } from '../errors.ts';

type Testcontainers = typeof import('testcontainers');
let testcontainers: Promise<Testcontainers> | undefined;

/** testcontainers is heavy (~0.5 s to load): import it only when a run needs Docker. */
export function loadTestcontainers(): Promise<Testcontainers> {
  testcontainers ??= import('testcontainers');
  return testcontainers;
}

/** Every container, network and image the grader creates carries these labels (`labs down` finds them). */
export const LABEL = 'dev.backend-labs';
export const LABEL_NAMESPACE = 'dev.backend-labs.namespace';
/** service (warm postgres/redis), app (the learner's server), network (one per docker-runtime run), image. */
export const LABEL_ROLE = 'dev.backend-labs.role';
export const LABEL_RUN = 'dev.backend-labs.run';
export type ResourceRole = 'service' | 'app' | 'network' | 'image';

const NAMESPACE = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Names and labels are scoped by `LABS_DOCKER_NAMESPACE` (default `backend-labs`): two namespaces never share
 * warm containers, and `labs down` only touches its own (tests use this to stay out of each other's way).
 */
export function dockerNamespace(env: NodeJS.ProcessEnv = process.env): string {
  const ns = env.LABS_DOCKER_NAMESPACE?.trim() || 'backend-labs';
  if (!NAMESPACE.test(ns)) {
    throw new GraderError('USAGE', `Expected LABS_DOCKER_NAMESPACE to be lowercase letters, digits and dashes (starting with a letter, at most 40), got \`${ns}\`.`);
  }
  return ns;
}

export function resourceLabels(role: ResourceRole, namespace: string, run?: string): Record<string, string> {
  return { [LABEL]: 'true', [LABEL_NAMESPACE]: namespace, [LABEL_ROLE]: role, ...(run ? { [LABEL_RUN]: run } : {}) };
}

export const NO_RUNTIME_MESSAGE = 'Could not find a working container runtime strategy';

/** testcontainers' only words when it finds no Docker engine. */
export function isNoDockerError(err: unknown): boolean {
  return err instanceof Error && err.message.includes(NO_RUNTIME_MESSAGE);
}

const SERVICE_TITLES: Record<string, { title: string; variable: string; example: string; note: string }> = {
  postgres: {
    title: 'PostgreSQL',
    variable: 'LABS_DATABASE_URL',
    example: 'postgres://user:password@localhost:5432/postgres',
    note: 'the grader creates a fresh database in it for every run and drops it afterwards',
  },
  redis: {
    title: 'Redis',
    variable: 'LABS_REDIS_URL',
    example: 'redis://localhost:6379',
    note: 'the grader uses one of its logical databases 1-15 per run and flushes it',
  },
};

const WHERE = 'no Docker engine answered (looked at DOCKER_HOST, /var/run/docker.sock and the rootless Docker sockets)';
const START_DOCKER = 'Start Docker (Docker Desktop, or `sudo systemctl start docker` on Linux) and run `labs check` again; `labs doctor` checks your setup.';

/** What to say when a lab's services need Docker and there is none. */
export function noDockerForServices(services: string[]): string {
  const known = services.filter((s) => SERVICE_TITLES[s]);
  const titles = known.map((s) => SERVICE_TITLES[s].title).join(' and ') || services.join(' and ');
  const lines = [
    `This lab needs ${titles}, which \`labs check\` runs in Docker containers, but ${WHERE}.`,
    'Two ways out:',
    `  1. ${START_DOCKER}`,
    `  2. Use ${known.length > 1 ? 'servers' : `a ${titles} server`} you already run (${known.map((s) => SERVICE_TITLES[s].note).join('; ')}):`,
    `       ${known.map((s) => `${SERVICE_TITLES[s].variable}=${SERVICE_TITLES[s].example}`).join(' ')} labs check`,
  ];
  return lines.join('\n');
}

/** What to say when `--runtime docker` finds no Docker. */
export function noDockerForRuntime(): string {
  return [
    `\`labs check --runtime docker\` builds your Dockerfile and runs your server in a container, but ${WHERE}.`,
    'Two ways out:',
    `  1. ${START_DOCKER}`,
    '  2. Run `labs check` without `--runtime docker`: your server then runs as a local process (the same checks).',
  ].join('\n');
}

/** The Docker client testcontainers found, or a NO_DOCKER GraderError with `message` (never a stack trace). */
export async function dockerClient(message: () => string): Promise<ContainerRuntimeClient> {
  const tc = await loadTestcontainers();
  try {
    return await tc.getContainerRuntimeClient();
  } catch (err) {
    if (isNoDockerError(err)) throw new GraderError('NO_DOCKER', message(), { cause: err });
    throw new GraderError('ENVIRONMENT', `Docker answered with an error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/** A URL with its password replaced by *** (for events and messages). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
  }
}

/** Docker API errors carry the HTTP status in `statusCode`. */
export function dockerStatus(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export interface LabsResources {
  containers: { id: string; name: string; role: string; image: string; state: string }[];
  networks: { id: string; name: string }[];
  images: { id: string; tags: string[] }[];
}

/** Every container, network and image of `namespace` (what `labs down` removes). */
export async function listResources(client: ContainerRuntimeClient, namespace: string): Promise<LabsResources> {
  const docker = client.container.dockerode;
  const filters = JSON.stringify({ label: [`${LABEL_NAMESPACE}=${namespace}`] });
  const [containers, networks, images] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listImages({ filters }),
  ]);
  return {
    containers: containers.map((c) => ({
      id: c.Id,
      name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
      role: c.Labels?.[LABEL_ROLE] ?? '?',
      image: c.Image,
      state: c.State,
    })),
    networks: networks.map((n) => ({ id: n.Id, name: n.Name })),
    images: images.map((i) => ({ id: i.Id, tags: i.RepoTags ?? [] })),
  };
}

/** Removes what listResources found: containers (with their volumes), then networks, then images. */
export async function removeResources(client: ContainerRuntimeClient, found: LabsResources): Promise<string[]> {
  const docker = client.container.dockerode;
  const problems: string[] = [];
  const ignoreGone = (what: string) => (err: unknown) => {
    if (dockerStatus(err) !== 404) problems.push(`${what}: ${(err as Error)?.message ?? String(err)}`);
  };
  await Promise.all(found.containers.map((c) => docker.getContainer(c.id).remove({ force: true, v: true }).catch(ignoreGone(`container ${c.name}`))));
  for (const n of found.networks) {
    const network = docker.getNetwork(n.id);
    const info = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
    for (const id of Object.keys(info?.Containers ?? {})) await network.disconnect({ Container: id, Force: true }).catch(() => {});
    await network.remove().catch(ignoreGone(`network ${n.name}`));
  }
  for (const i of found.images) await docker.getImage(i.id).remove({ force: true }).catch(ignoreGone(`image ${i.tags[0] ?? i.id}`));
  return problems;
}

export const LABEL_CONFIG = 'dev.backend-labs.config';

/** A short fingerprint of a warm container's settings; a container with another fingerprint is stale. */
export function configFingerprint(parts: unknown[]): string {
  let h = 0x811c9dc5;
  const text = JSON.stringify(parts);
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Starts a warm (reusable) container under a fixed name. Two `labs check` processes starting it at once both
 * try to create it; the loser gets 409 Conflict and retries, finding the winner's container. A container of
 * that name made with other settings (an older grader, another image) is stale: it is removed and replaced.
 * `make` builds a fresh builder per attempt (a testcontainers builder must not start twice).
 */
export async function startReusable<T>(client: ContainerRuntimeClient, name: string, fingerprint: string, make: () => { start(): Promise<T> }): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await make().start();
    } catch (err) {
      const conflict = dockerStatus(err) === 409 || /already in use|Conflict/i.test((err as Error)?.message ?? '');
      if (!conflict || attempt >= 6) throw err;
      const existing = client.container.dockerode.getContainer(name);
      const info = await existing.inspect().catch(() => undefined);
      if (info && info.Config?.Labels?.[LABEL_CONFIG] !== fingerprint) await existing.remove({ force: true, v: true }).catch(() => {});
      else await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

/**
 * The namespace's one Docker network (`<namespace>-net`): warm service containers are created on it under
 * their aliases (postgres, redis), and `--runtime docker` runs the learner's container on it. Services are
 * attached when they are created, never afterwards: testcontainers does not re-attach a reused container to
 * a new network, and connecting a running container to another network makes Docker re-publish its ports
 * on new host ports (which would cut every other run off). Safe when several runs create it at once.
 */
export async function ensureSharedNetwork(client: ContainerRuntimeClient, namespace: string): Promise<string> {
  const docker = client.container.dockerode;
  const name = `${namespace}-net`;
  const find = async () =>
    (await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }))
      .filter((n) => n.Name === name)
      .sort((a, b) => String(a.Created).localeCompare(String(b.Created)) || a.Id.localeCompare(b.Id));
  const existing = await find();
  if (existing.length > 0) return existing[0].Name;
  await client.network
    .create({ Name: name, CheckDuplicate: true, Driver: 'bridge', Labels: resourceLabels('network', namespace) })
    .catch((err: unknown) => {
      if (dockerStatus(err) !== 409) throw err;
    });
  // Two creators at the same moment can both succeed: keep the oldest, remove the others.
  const all = await find();
  for (const extra of all.slice(1)) await docker.getNetwork(extra.Id).remove().catch(() => {});
  return name;
}

/** Removes the namespace's network unless a container still uses it (another run): for runs that keep nothing warm. */
export async function removeSharedNetworkIfUnused(client: ContainerRuntimeClient, namespace: string): Promise<void> {
  const network = client.container.dockerode.getNetwork(`${namespace}-net`);
  const info = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
  if (!info || Object.keys(info.Containers ?? {}).length > 0) return;
  await network.remove().catch(() => {});
}
