// The services phase of a run: start what the lab declares (in parallel), hand the learner's server its
// URLs, give the checks direct clients (ctx.db, ctx.redis), and clean the run's data up at teardown.
import type { Pool } from 'pg';
import type { Redis } from 'ioredis';
import { GraderError } from '../errors.ts';
import type { ServiceName } from '../types.ts';
import { dockerClient, dockerNamespace, redactUrl, removeSharedNetworkIfUnused } from './docker.ts';
import { GRADER_APPLICATION_NAME, loadPg, PostgresService, type PgTemplate, type StartedPostgres } from './postgres.ts';
import { loadIoRedis, RedisService, type StartedRedis } from './redis.ts';
import { AmqpPath, queueStats, RabbitService, type QueueStats, type StartedRabbit } from './rabbitmq.ts';
import { EXTERNAL_URL_ENV, runDatabaseName, SERVICE_ENV, type StartedService } from './service.ts';

export { IMAGES } from './images.ts';
export { GRADER_APPLICATION_NAME, PostgresService, templateDatabaseName, type PgTemplate, type StartedPostgres } from './postgres.ts';
export { RedisService, type StartedRedis } from './redis.ts';
export { RabbitService, type StartedRabbit, type QueueStats } from './rabbitmq.ts';
export { EXTERNAL_URL_ENV, SERVICE_ENV, type StartedService } from './service.ts';

export interface ServiceEvent {
  name: string;
  state: 'starting' | 'ready';
  url?: string;
  ms?: number;
}

export interface StartServicesOptions {
  labId: string;
  /** Unique per run (names the run's database, holds the Redis lease). */
  runId: string;
  /** Keep containers warm for the next run (default: true unless LABS_KEEP_SERVICES=0). */
  reuse?: boolean;
  /** Servers the user runs instead of containers (default: LABS_DATABASE_URL / LABS_REDIS_URL). */
  urls?: Partial<Record<ServiceName, string>>;
  /** Scope of container names and labels (default: LABS_DOCKER_NAMESPACE or `backend-labs`). */
  namespace?: string;
  /** PostgreSQL: the run's database is a copy of this seeded template (lab.postgres.template). */
  postgresTemplate?: PgTemplate;
  onEvent?: (event: ServiceEvent) => void;
}

export interface AmqpAccess {
  /** AMQP_URL of the run (its own vhost). */
  readonly url: string;
  /** A channel on the run's vhost (one connection for the run, opened on first use, closed at teardown). */
  channel(): Promise<import('amqplib').Channel>;
  /** A queue's counters (messages ready / unacknowledged, consumers), or undefined if it does not exist. */
  queue(name: string): Promise<QueueStats | undefined>;
  /**
   * A broker restart as the learner's processes see it, for this run only: every connection of theirs cut
   * (no close frame), new ones refused for `downMs` (default 2000), then accepted again. The learner's
   * processes reach the broker through a TCP path of the grader's (AMQP_URL); the warm broker shared with
   * other runs is never restarted. The grader's own channel is not cut. Resolves when the broker is back,
   * with how many of the learner's connections were cut.
   */
  restartBroker(options?: { downMs?: number; sleep?: (ms: number) => Promise<void> }): Promise<{ cut: number }>;
  /** The learner's connections to the broker open now (through the path), or undefined without one (amqps://). */
  learnerConnections(): number | undefined;
  /** The path's faults with their times, for a failure message. */
  transcript(): string;
}

export interface ServiceSet {
  readonly started: StartedService[];
  readonly postgres?: StartedPostgres;
  readonly redis?: StartedRedis;
  readonly rabbitmq?: StartedRabbit;
  /** DATABASE_URL / REDIS_URL for the learner's server: `host` for a local process, `network` for a container. */
  env(target: 'host' | 'network'): Record<string, string>;
  /** The checks' pool on the run's database (application_name backend-labs-grader), created on first use. */
  db(): Pool;
  /** The checks' client on the run's Redis database, created on first use. */
  redisClient(): Redis;
  /** The checks' access to the run's RabbitMQ vhost. */
  amqp(): AmqpAccess;
  /** Closes the checks' clients, drops the run's data, stops containers that are not kept warm. */
  stop(): Promise<void>;
}

/** True unless LABS_KEEP_SERVICES is 0/false/no. */
export function keepServicesWarm(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(0|false|no|off)$/i.test(env.LABS_KEEP_SERVICES?.trim() ?? '');
}

export async function startServices(names: ServiceName[], options: StartServicesOptions): Promise<ServiceSet> {
  const reuse = options.reuse ?? keepServicesWarm();
  const urls = {
    postgres: options.urls?.postgres ?? process.env[EXTERNAL_URL_ENV.postgres],
    redis: options.urls?.redis ?? process.env[EXTERNAL_URL_ENV.redis],
    rabbitmq: options.urls?.rabbitmq ?? process.env[EXTERNAL_URL_ENV.rabbitmq],
  };
  // Client libraries load while the containers start.
  const pgLoaded = names.includes('postgres') ? loadPg() : undefined;
  const redisLoaded = names.includes('redis') ? loadIoRedis() : undefined;

  const startOne = async (name: ServiceName): Promise<StartedService> => {
    const t0 = performance.now();
    options.onEvent?.({ name, state: 'starting' });
    let started: StartedService;
    if (name === 'postgres') {
      const s = new PostgresService().withReuse(reuse).withExternalUrl(urls.postgres).withDatabase(runDatabaseName(options.labId, options.runId)).withTemplate(options.postgresTemplate);
      started = await (options.namespace ? s.withNamespace(options.namespace) : s).start();
    } else if (name === 'redis') {
      const s = new RedisService().withReuse(reuse).withExternalUrl(urls.redis).withRunId(options.runId);
      started = await (options.namespace ? s.withNamespace(options.namespace) : s).start();
    } else {
      const s = new RabbitService().withReuse(reuse).withExternalUrl(urls.rabbitmq).withVhost(runDatabaseName(options.labId, options.runId));
      started = await (options.namespace ? s.withNamespace(options.namespace) : s).start();
    }
    options.onEvent?.({ name, state: 'ready', url: redactUrl(started.url), ms: Math.round(performance.now() - t0) });
    return started;
  };

  // Nothing kept warm: the namespace's network goes with the containers (unless another run still uses it).
  const removeNetwork = async () => {
    const client = await dockerClient(() => 'no Docker').catch(() => undefined);
    if (client) await removeSharedNetworkIfUnused(client, options.namespace ?? dockerNamespace());
  };
  const outcomes = await Promise.allSettled(names.map((n) => startOne(n)));
  const started = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((s) => s.stop()));
    // A start that failed half way (interrupted, or the engine refused) may have made the network already.
    if (!reuse && names.some((n) => !urls[n])) await removeNetwork().catch(() => {});
    throw failed.reason;
  }
  const [pg, IoRedis] = await Promise.all([pgLoaded, redisLoaded]);
  const postgres = started.find((s): s is StartedPostgres => s.name === 'postgres');
  const redis = started.find((s): s is StartedRedis => s.name === 'redis');
  const rabbitmq = started.find((s): s is StartedRabbit => s.name === 'rabbitmq');
  // The learner's processes reach the broker through a path of ours (ctx.amqp.restartBroker cuts it).
  const amqpPath = rabbitmq ? await AmqpPath.open(rabbitmq) : undefined;
  let pool: Pool | undefined;
  let redisClient: Redis | undefined;
  let amqpConnection: Promise<import('amqplib').ChannelModel> | undefined;
  let amqpChannel: Promise<import('amqplib').Channel> | undefined;

  return {
    started,
    postgres,
    redis,
    rabbitmq,
    env(target) {
      const out: Record<string, string> = {};
      for (const s of started) out[SERVICE_ENV[s.name]] = target === 'host' ? s.url : s.networkUrl;
      if (target === 'host' && amqpPath) out[SERVICE_ENV.rabbitmq] = amqpPath.url;
      return out;
    },
    amqp() {
      if (!rabbitmq) throw new GraderError('LAB_INVALID', 'ctx.amqp is only available in labs that declare `services: [\'rabbitmq\']`.');
      return {
        url: rabbitmq.url,
        channel() {
          amqpConnection ??= import('amqplib').then(async (m) => {
            const conn = await (m as unknown as { connect: typeof import('amqplib').connect }).connect(rabbitmq.url);
            conn.on('error', () => {});
            return conn;
          });
          amqpChannel ??= amqpConnection.then(async (c) => {
            const ch = await c.createChannel();
            ch.on('error', () => {});
            return ch;
          });
          return amqpChannel;
        },
        queue: (name) => queueStats(rabbitmq, name),
        async restartBroker(opts = {}) {
          if (!amqpPath) throw new GraderError('ENVIRONMENT', 'A broker restart needs the learner\'s processes to reach RabbitMQ through the grader (amqp://); with amqps:// in LABS_AMQP_URL it is not available. Run without LABS_AMQP_URL, or with an amqp:// URL.');
          return amqpPath.restart(opts.downMs ?? 2000, opts.sleep);
        },
        learnerConnections: () => amqpPath?.connections,
        transcript: () => amqpPath?.transcript() ?? '',
      };
    },
    db() {
      if (!postgres || !pg) throw new GraderError('LAB_INVALID', 'ctx.db is only available in labs that declare `services: [\'postgres\']`.');
      if (!pool) {
        pool = new pg.Pool({ connectionString: postgres.url, application_name: GRADER_APPLICATION_NAME, max: 5, connectionTimeoutMillis: 15_000 });
        // A connection lost at teardown (DROP DATABASE ... WITH (FORCE)) must not crash the grader: the query
        // that was using it fails on its own.
        pool.on('error', () => {});
        pool.on('connect', (client) => client.on('error', () => {}));
      }
      return pool;
    },
    redisClient() {
      if (!redis || !IoRedis) throw new GraderError('LAB_INVALID', 'ctx.redis is only available in labs that declare `services: [\'redis\']`.');
      if (!redisClient) {
        redisClient = new IoRedis(redis.url, { maxRetriesPerRequest: 2, connectTimeout: 5000 });
        redisClient.on('error', () => {});
      }
      return redisClient;
    },
    async stop() {
      await Promise.allSettled([pool?.end(), redisClient?.quit().catch(() => redisClient?.disconnect()), amqpConnection?.then((c) => c.close()), amqpPath?.close()]);
      await Promise.allSettled(started.map((s) => s.stop()));
      if (!reuse && started.some((s) => s.containerId)) await removeNetwork();
    },
  };
}
