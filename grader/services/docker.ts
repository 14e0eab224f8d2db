// Docker plumbing shared by the services and the container runtime: testcontainers loaded on first use
// (labs without services never pay for it), the labels every resource the grader creates carries, and
// the translation of "no Docker" into a message that says what to do.
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
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
 * on new host ports (which would cut every other run off).
 *
 * Returns the network's id. Docker does not make names unique atomically, so two processes creating it at
 * the same moment can make two networks of that name: everyone then uses the oldest (by id, never by the
 * ambiguous name) and a spare one is removed once nothing uses it.
 */
export function sharedNetworkName(namespace: string): string {
  return `${namespace}-net`;
}

const networkIds = new Map<string, Promise<string>>();

export async function ensureSharedNetwork(client: ContainerRuntimeClient, namespace: string): Promise<string> {
  const cached = networkIds.get(namespace);
  if (cached) {
    // Parallel callers share one creation; a later run checks the network is still there (`labs down`).
    const id = await cached.catch(() => undefined);
    if (id && (await client.container.dockerode.getNetwork(id).inspect().then(() => true, () => false))) return id;
    if (networkIds.get(namespace) === cached) networkIds.delete(namespace);
  }
  let id = networkIds.get(namespace);
  if (!id) {
    id = createSharedNetwork(client, namespace);
    networkIds.set(namespace, id);
    id.catch(() => networkIds.delete(namespace));
  }
  return id;
}

async function createSharedNetwork(client: ContainerRuntimeClient, namespace: string): Promise<string> {
  const docker = client.container.dockerode;
  const name = sharedNetworkName(namespace);
  const find = async () =>
    (await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }))
      .filter((n) => n.Name === name)
      .sort((a, b) => String(a.Created).localeCompare(String(b.Created)) || a.Id.localeCompare(b.Id));
  let found = await find();
  if (found.length === 0) {
    await client.network
      .create({ Name: name, CheckDuplicate: true, Driver: 'bridge', Labels: resourceLabels('network', namespace) })
      .catch((err: unknown) => {
        if (dockerStatus(err) !== 409) throw err;
      });
    found = await find();
  }
  for (const extra of found.slice(1)) await docker.getNetwork(extra.Id).remove().catch(() => {});
  if (found.length === 0) throw new GraderError('ENVIRONMENT', `Docker did not create the network ${name}.`);
  return found[0].Id;
}

/** Removes the namespace's network unless a container still uses it (another run): for runs that keep nothing warm. */
export async function removeSharedNetworkIfUnused(client: ContainerRuntimeClient, namespace: string): Promise<void> {
  const docker = client.container.dockerode;
  networkIds.delete(namespace);
  const name = sharedNetworkName(namespace);
  const all = (await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }).catch(() => [])).filter((n) => n.Name === name);
  for (const n of all) {
    const network = docker.getNetwork(n.Id);
    // A container just stopped and removed may still be listed on the network for a moment (the engine
    // detaches it after the removal returns; seconds on a busy machine): wait for that, but not for a
    // container that runs (another run's).
    const deadline = performance.now() + 5000;
    for (;;) {
      const info = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
      if (!info) break;
      const attached = Object.keys(info.Containers ?? {});
      if (attached.length === 0) {
        await network.remove().catch(() => {});
        break;
      }
      const running = await Promise.all(attached.map((id) => docker.getContainer(id).inspect().then((c) => c.State?.Running === true, () => false)));
      if (running.some(Boolean) || performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// --- the warm path ------------------------------------------------------------------------------------
// Loading testcontainers costs ~0.5 s, half of a warm `labs check`'s budget for its services. When the warm
// container is already running with the expected settings, it is found with one Docker API call over the
// engine's socket (node:http, nothing to load) and used as is; anything unexpected (no such container,
// stopped, unhealthy, other settings, an engine configured in ~/.testcontainers.properties or over TLS)
// falls back to testcontainers' reuse, which starts or replaces it.

interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  /** Where published ports are reached from this machine. */
  portsHost: string;
}

/** The engine the way testcontainers finds it (DOCKER_HOST, the default socket, the rootless ones), or undefined. */
export function directEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint | undefined {
  if (existsSync(join(homedir(), '.testcontainers.properties'))) return undefined;
  const override = env.TESTCONTAINERS_HOST_OVERRIDE;
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) {
    if (dockerHost.startsWith('unix://')) return unixEndpoint(dockerHost.slice('unix://'.length), override);
    if (dockerHost.startsWith('tcp://') && env.DOCKER_TLS_VERIFY !== '1') {
      const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
      return { host: u.hostname, port: Number(u.port || 2375), portsHost: override ?? u.hostname };
    }
    return undefined;
  }
  const candidates = [
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'docker.sock') : undefined,
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
    `/run/user/${process.getuid?.() ?? 0}/docker.sock`,
  ];
  const socket = candidates.find((p) => p !== undefined && existsSync(p));
  return socket ? unixEndpoint(socket, override) : undefined;
}

function unixEndpoint(socketPath: string, override: string | undefined): Endpoint | undefined {
  // Inside a container testcontainers looks for the bridge gateway: leave that case to it.
  if (override === undefined && existsSync('/.dockerenv')) return undefined;
  return { socketPath, portsHost: override ?? 'localhost' };
}

function dockerGet(endpoint: Endpoint, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: endpoint.socketPath, host: endpoint.host, port: endpoint.port, path, method: 'GET', timeout: 3000, headers: { Host: 'docker' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('Docker API timeout')));
    req.on('error', reject);
    req.end();
  });
}

export interface WarmContainer {
  id: string;
  host: string;
  port: number;
}

/** The running warm container `name` if its settings and network are the expected ones; else undefined. */
export async function findWarmContainer(name: string, fingerprint: string, network: string, containerPort: string): Promise<WarmContainer | undefined> {
  const endpoint = directEndpoint();
  if (!endpoint) return undefined;
  try {
    const { status, body } = await dockerGet(endpoint, `/containers/${encodeURIComponent(name)}/json`);
    if (status !== 200) return undefined;
    const info = body as {
      Id: string;
      State?: { Running?: boolean; Health?: { Status?: string } };
      Config?: { Labels?: Record<string, string> };
      NetworkSettings?: { Networks?: Record<string, unknown>; Ports?: Record<string, { HostPort?: string }[] | null> };
    };
    if (!info.State?.Running) return undefined;
    if (info.State.Health && info.State.Health.Status !== 'healthy') return undefined;
    if (info.Config?.Labels?.[LABEL_CONFIG] !== fingerprint) return undefined;
    if (!info.NetworkSettings?.Networks?.[network]) return undefined;
    const port = Number(info.NetworkSettings.Ports?.[containerPort]?.[0]?.HostPort);
    if (!Number.isInteger(port) || port <= 0) return undefined;
    return { id: info.Id, host: endpoint.portsHost, port };
  } catch {
    return undefined;
  }
}

/**
 * A warm service container costs nothing while idle (no health check polling it) and stops itself after a long
 * idle while, without a daemon of ours: its entrypoint is a small POSIX sh wrapper that runs the image's own
 * entrypoint and looks every few seconds at the container's own TCP counters in /proc/net/snmp (a connection
 * open now, or one accepted since the last look, so a short one between two looks counts too). After
 * LABS_SERVICE_IDLE_STOP_S seconds (default 3600; 0 = never) without any, counted from the first connection (a
 * slow first start is never cut short), it stops the service the way `docker stop` would and the container
 * exits; the next run starts it again (testcontainers' reuse). `docker stop` / `labs down` is forwarded at once.
 */
const IDLE_WRAPPER = [
  '"$@" & child=$!',
  'stopping=',
  'trap \'stopping=1; kill -$LABS_IDLE_SIGNAL "$child" 2>/dev/null\' TERM INT',
  'idle=0 up=0 seen= last=',
  'while kill -0 "$child" 2>/dev/null; do',
  '  sleep "$LABS_IDLE_CHECK_S" & wait $!',
  '  [ -n "$stopping" ] && break',
  '  [ "$LABS_IDLE_STOP_S" -gt 0 ] || continue',
  '  up=$((up + LABS_IDLE_CHECK_S))',
  // The container's own TCP counters: connections accepted so far (PassiveOpens) and open now (CurrEstab).
  '  set -- $(grep "^Tcp: [0-9]" /proc/net/snmp)',
  '  if [ "${10:-0}" -gt 0 ] || { [ -n "$last" ] && [ "$7" != "$last" ]; }; then idle=0 seen=1',
  // idle time counts from the first connection (a first start, initdb included, may be slow), or after 10 min
  '  elif [ -n "$seen" ] || [ "$up" -ge 600 ]; then idle=$((idle + LABS_IDLE_CHECK_S)); fi',
  '  last=$7',
  '  if [ "$idle" -ge "$LABS_IDLE_STOP_S" ]; then',
  '    echo "backend-labs: no connection for ${idle} s: stopping (the next run starts it again)"',
  '    kill -$LABS_IDLE_SIGNAL "$child" 2>/dev/null; break',
  '  fi',
  'done',
  'wait "$child"',
].join('\n');

export const DEFAULT_IDLE_STOP_S = 3600;

/** LABS_SERVICE_IDLE_STOP_S: seconds a warm service container may sit without a connection (0 = forever). */
export function idleStopSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LABS_SERVICE_IDLE_STOP_S?.trim();
  if (!raw) return DEFAULT_IDLE_STOP_S;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new GraderError('USAGE', `Expected LABS_SERVICE_IDLE_STOP_S to be a whole number of seconds (0 = never stop), got \`${raw}\`.`);
  }
  return n;
}

export interface IdleStop {
  /** The container's entrypoint: the wrapper, which runs the command given as the container's command. */
  entrypoint: string[];
  environment: Record<string, string>;
  /** Part of the container's settings fingerprint: another idle setting or wrapper makes another container. */
  fingerprint: string;
}

/** The idle-stop wrapper for a service that stops cleanly on `signal`. */
export function idleStop(signal: 'INT' | 'TERM', seconds = idleStopSeconds()): IdleStop {
  const check = seconds === 0 ? 3600 : Math.max(1, Math.min(60, Math.floor(seconds / 4)));
  return {
    entrypoint: ['sh', '-c', IDLE_WRAPPER, 'labs-idle-stop'],
    environment: {
      LABS_IDLE_STOP_S: String(seconds),
      LABS_IDLE_CHECK_S: String(check),
      LABS_IDLE_SIGNAL: signal,
    },
    fingerprint: `${seconds}:${configFingerprint([IDLE_WRAPPER])}`,
  };
}
