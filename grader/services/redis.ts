// Redis for a run: a warm container (testcontainers, reused between runs) or a server the user runs
// (LABS_REDIS_URL). Every run leases a logical database of its own (1-15; the lease is a key in database 0)
// and flushes it at start and at stop, so runs never see each other's keys.
//
//   const redis = await new RedisService().withReuse().withRunId('1a2b3c4d').start();
//   redis.url         redis://localhost:32769/3   (this machine)
//   redis.networkUrl  redis://redis:6379/3        (containers on the run's network)
//   await redis.stop()                            (FLUSHDB, lease released)
import type { Redis } from 'ioredis';
import { GraderError } from '../errors.ts';
import { configFingerprint, dockerClient, dockerNamespace, ensureSharedNetwork, findWarmContainer, idleStop, LABEL_CONFIG, noDockerForServices, redactUrl, resourceLabels, sharedNetworkName, startReusable } from './docker.ts';
import { IMAGES } from './images.ts';
import { urlForContainers, type StartedService } from './service.ts';

const PORT = 6379;
const LEASE_PREFIX = 'backend-labs:lease:';
/** A lease left by a killed run expires after this long. */
const LEASE_SECONDS = 6 * 60 * 60;
const FIRST_DB = 1;
const LAST_DB = 15;

type IoRedisModule = typeof import('ioredis');
let ioredisModule: Promise<IoRedisModule['Redis']> | undefined;
export function loadIoRedis(): Promise<IoRedisModule['Redis']> {
  ioredisModule ??= import('ioredis').then((m) => (m as unknown as { default: IoRedisModule['Redis'] }).default ?? m.Redis);
  return ioredisModule;
}

export interface StartedRedis extends StartedService {
  readonly name: 'redis';
  /** The logical database this run uses. */
  readonly db: number;
}

export class RedisService {
  private reuse = false;
  private externalUrl?: string;
  private namespace?: string;
  private runId?: string;

  /** Keep the container running after stop() and pick it up again on the next start (testcontainers reuse). */
  withReuse(reuse = true): this {
    this.reuse = reuse;
    return this;
  }

  /** Use a server the user runs (LABS_REDIS_URL) instead of a container. A `/N` path restricts the run to database N. */
  withExternalUrl(url: string | undefined): this {
    this.externalUrl = url?.trim() || undefined;
    return this;
  }

  withNamespace(namespace: string): this {
    this.namespace = namespace;
    return this;
  }

  /** Who holds the lease (required). */
  withRunId(runId: string): this {
    this.runId = runId;
    return this;
  }

  async start(): Promise<StartedRedis> {
    if (!this.runId) throw new GraderError('INTERNAL', 'RedisService: call withRunId(id) before start().');
    return this.externalUrl ? this.startExternal(this.externalUrl, this.runId) : this.startContainer(this.runId);
  }

  private async startContainer(runId: string): Promise<StartedRedis> {
    const namespace = this.namespace ?? dockerNamespace();
    const name = `${namespace}-redis`;
    const network = sharedNetworkName(namespace);
    const idle = idleStop('TERM');
    const fingerprint = configFingerprint([IMAGES.redis, network, idle.fingerprint]);
    const reused = this.reuse;
    const started = (containerId: string, base: string, lease: Lease, stopContainer?: () => Promise<unknown>): StartedRedis => ({
      name: 'redis',
      alias: 'redis',
      db: lease.db,
      url: `${base}/${lease.db}`,
      networkUrl: `redis://redis:${PORT}/${lease.db}`,
      containerId,
      source: 'container',
      reused,
      async stop() {
        try {
          await lease.release();
        } finally {
          await stopContainer?.();
        }
      },
    });

    // Warm path: the container is running with these settings; one Docker API call, no testcontainers.
    if (reused) {
      const warm = await findWarmContainer(name, fingerprint, network, `${PORT}/tcp`);
      if (warm) {
        const base = `redis://${warm.host}:${warm.port}`;
        const lease = await leaseDatabase(base, runId, undefined, false, 1000).catch(() => undefined);
        if (lease) return started(warm.id, base, lease);
      }
    }

    const client = await dockerClient(() => noDockerForServices(['redis']));
    const { RedisContainer } = await import('@testcontainers/redis');
    let container;
    try {
      const networkId = await ensureSharedNetwork(client, namespace);
      container = await startReusable(client, name, fingerprint, () => {
        const c = new RedisContainer(IMAGES.redis)
          .withName(name)
          .withEntrypoint(idle.entrypoint)
          .withCommand(['docker-entrypoint.sh', 'redis-server'])
          .withEnvironment(idle.environment)
          .withNetworkMode(networkId)
          .withNetworkAliases('redis')
          .withLabels({ ...resourceLabels('service', namespace), [LABEL_CONFIG]: fingerprint })
          .withStartupTimeout(60_000);
        return reused ? c.withReuse() : c;
      });
    } catch (err) {
      if (err instanceof GraderError) throw err;
      throw new GraderError(
        'ENVIRONMENT',
        `Could not start Redis (${IMAGES.redis}) in Docker: ${(err as Error)?.message ?? String(err)}\n` +
          `If the image cannot be pulled (offline?), pull it once with \`docker pull ${IMAGES.redis}\`, or use a server you run: LABS_REDIS_URL=redis://localhost:6379 labs check`,
        { cause: err },
      );
    }
    const base = `redis://${container.getHost()}:${container.getPort()}`;
    const lease = await leaseDatabase(base, runId, undefined, false);
    const c = container;
    return started(container.getId(), base, lease, reused ? undefined : () => c.stop({ remove: true, removeVolumes: true }));
  }

  private async startExternal(url: string, runId: string): Promise<StartedRedis> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GraderError('USAGE', `Expected LABS_REDIS_URL to be a URL like redis://localhost:6379, got \`${redactUrl(url)}\`.`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new GraderError('USAGE', `Expected LABS_REDIS_URL to start with redis:// or rediss://, got \`${redactUrl(url)}\`.`);
    }
    const path = parsed.pathname.replace(/^\//, '');
    let only: number | undefined;
    if (path !== '') {
      only = Number(path);
      if (!Number.isInteger(only) || only < 1) {
        throw new GraderError('USAGE', `LABS_REDIS_URL names database \`${path}\`: use a number from 1 (database 0 holds the grader's leases), or no number to let the grader pick one of 1-15.`);
      }
    }
    parsed.pathname = '';
    const base = parsed.toString().replace(/\/$/, '');
    const lease = await leaseDatabase(base, runId, only, true);
    const runUrl = `${base}/${lease.db}`;
    return {
      name: 'redis',
      alias: 'redis',
      db: lease.db,
      url: runUrl,
      networkUrl: urlForContainers(runUrl),
      source: 'external',
      reused: false,
      stop: () => lease.release(),
    };
  }
}

async function connect(url: string, external: boolean, retryMs = 10_000): Promise<Redis> {
  const Redis = await loadIoRedis();
  const deadline = performance.now() + (external ? 0 : retryMs);
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (err) {
      client.disconnect();
      if (performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const where = external ? `the Redis server in LABS_REDIS_URL (${redactUrl(url)})` : 'Redis in Docker';
      throw new GraderError('ENVIRONMENT', `Could not connect to ${where}: ${(err as Error).message}`, { cause: err });
    }
  }
}

interface Lease {
  db: number;
  release(): Promise<void>;
}

/** Leases a free logical database (SET NX in database 0), flushes it, and says how to give it back. */
async function leaseDatabase(base: string, runId: string, only: number | undefined, external: boolean, retryMs?: number): Promise<Lease> {
  const admin = await connect(`${base}/0`, external, retryMs);
  try {
    const candidates = only !== undefined ? [only] : Array.from({ length: LAST_DB - FIRST_DB + 1 }, (_, i) => FIRST_DB + i);
    for (const db of candidates) {
      const ok = await admin.set(`${LEASE_PREFIX}${db}`, runId, 'EX', LEASE_SECONDS, 'NX');
      if (ok !== 'OK') continue;
      const data = await connect(`${base}/${db}`, external);
      try {
        await data.flushdb();
      } finally {
        data.disconnect();
      }
      return {
        db,
        release: async () => {
          const c = await connect(`${base}/${db}`, external);
          try {
            await c.flushdb();
            await c.select(0);
            if ((await c.get(`${LEASE_PREFIX}${db}`)) === runId) await c.del(`${LEASE_PREFIX}${db}`);
          } finally {
            c.disconnect();
          }
        },
      };
    }
    throw new GraderError(
      'ENVIRONMENT',
      only !== undefined
        ? `Redis database ${only} is in use by another \`labs check\` run (lease key ${LEASE_PREFIX}${only} in database 0). Wait for it to finish, or delete that key if no run is going on.`
        : `All Redis databases ${FIRST_DB}-${LAST_DB} are in use by other \`labs check\` runs. Wait for some to finish, or run \`labs down\`.`,
    );
  } catch (err) {
    if (err instanceof GraderError) throw err;
    throw new GraderError('ENVIRONMENT', `Could not prepare a Redis database for this run: ${(err as Error).message}`, { cause: err });
  } finally {
    admin.disconnect();
  }
}
