// RabbitMQ for a run: a warm container (@testcontainers/rabbitmq, reused between runs) or a broker the user
// runs (LABS_AMQP_URL, with the management plugin on port 15672 of the same host). Every run gets a virtual
// host of its own, created at start and deleted at stop (with every queue and message in it), so runs never
// see each other's messages.
//
//   const mq = await new RabbitService().withReuse().withVhost('labs_message_queue_1a2b3c4d').start();
//   mq.url            amqp://guest:guest@localhost:32770/labs_message_queue_1a2b3c4d   (this machine)
//   mq.networkUrl     amqp://guest:guest@rabbitmq:5672/labs_message_queue_1a2b3c4d     (the run's network)
//   mq.managementUrl  http://localhost:32771                                            (HTTP API, for checks)
//   await mq.stop()                                                                     (deletes the vhost)
import { GraderError } from '../errors.ts';
import { configFingerprint, dockerClient, dockerNamespace, ensureSharedNetwork, findWarmContainer, idleStop, LABEL_CONFIG, noDockerForServices, redactUrl, resourceLabels, sharedNetworkName, startReusable } from './docker.ts';
import { IMAGES } from './images.ts';
import { urlForContainers, type StartedService } from './service.ts';

const AMQP_PORT = 5672;
const HTTP_PORT = 15672;
const USER = 'guest';
const PASSWORD = 'guest';
const DESCRIPTION_PREFIX = 'backend-labs run ';
/** Erlang schedulers that sleep instead of spinning when idle, and statistics every 10 s (not 5): a warm broker
 * costs next to nothing. (Queue counters in the management API lag by up to that much; checks that need them
 * at once use AMQP itself: checkQueue.) */
const ERL_ARGS = '+sbwt none +sbwtdcpu none +sbwtdio none -rabbit collect_statistics_interval 10000';
/** A vhost left behind by a killed run is deleted by a later run after this long. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

export interface StartedRabbit extends StartedService {
  readonly name: 'rabbitmq';
  readonly vhost: string;
  /** The management HTTP API (http://host:port), reachable from this machine. */
  readonly managementUrl: string;
  /** Basic auth for the management API. */
  readonly credentials: { user: string; password: string };
}

/** Queue counters from the management API (what a check reads: backlog, unacked, consumers). */
export interface QueueStats {
  name: string;
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
  arguments: Record<string, unknown>;
}

export class RabbitService {
  private reuse = false;
  private externalUrl?: string;
  private namespace?: string;
  private vhost?: string;

  withReuse(reuse = true): this {
    this.reuse = reuse;
    return this;
  }

  /** Use a broker the user runs (LABS_AMQP_URL); its management API must answer on port 15672 of the same host. */
  withExternalUrl(url: string | undefined): this {
    this.externalUrl = url?.trim() || undefined;
    return this;
  }

  withNamespace(namespace: string): this {
    this.namespace = namespace;
    return this;
  }

  /** Name of the run's own virtual host (required). */
  withVhost(name: string): this {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new GraderError('INTERNAL', `Expected a vhost name of lowercase letters, digits and _, got \`${name}\`.`);
    this.vhost = name;
    return this;
  }

  async start(): Promise<StartedRabbit> {
    if (!this.vhost) throw new GraderError('INTERNAL', 'RabbitService: call withVhost(name) before start().');
    return this.externalUrl ? this.startExternal(this.externalUrl, this.vhost) : this.startContainer(this.vhost);
  }

  private async startContainer(vhost: string): Promise<StartedRabbit> {
    const namespace = this.namespace ?? dockerNamespace();
    const name = `${namespace}-rabbitmq`;
    const network = sharedNetworkName(namespace);
    const idle = idleStop('TERM');
    const fingerprint = configFingerprint([IMAGES.rabbitmq, USER, PASSWORD, network, idle.fingerprint, ERL_ARGS]);
    const reused = this.reuse;
    const started = (containerId: string, host: string, amqpPort: number, httpPort: number, stopContainer?: () => Promise<unknown>): StartedRabbit => {
      const managementUrl = `http://${host}:${httpPort}`;
      return {
        name: 'rabbitmq',
        alias: 'rabbitmq',
        vhost,
        url: amqpUrl(`amqp://${USER}:${PASSWORD}@${host}:${amqpPort}`, vhost),
        networkUrl: amqpUrl(`amqp://${USER}:${PASSWORD}@rabbitmq:${AMQP_PORT}`, vhost),
        managementUrl,
        credentials: { user: USER, password: PASSWORD },
        containerId,
        source: 'container',
        reused,
        async stop() {
          try {
            await deleteVhost(managementUrl, USER, PASSWORD, vhost);
          } finally {
            await stopContainer?.();
          }
        },
      };
    };

    // Warm path: the running container, found with Docker API calls; the vhost made through the HTTP API.
    if (reused) {
      const [amqp, http] = await Promise.all([findWarmContainer(name, fingerprint, network, `${AMQP_PORT}/tcp`), findWarmContainer(name, fingerprint, network, `${HTTP_PORT}/tcp`)]);
      if (amqp && http) {
        const ok = await createVhost(`http://${http.host}:${http.port}`, USER, PASSWORD, vhost, 1000).then(
          () => true,
          () => false,
        );
        if (ok) return started(amqp.id, amqp.host, amqp.port, http.port);
      }
    }

    const client = await dockerClient(() => noDockerForServices(['rabbitmq']));
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    let container;
    try {
      const networkId = await ensureSharedNetwork(client, namespace);
      container = await startReusable(client, name, fingerprint, () => {
        const c = new RabbitMQContainer(IMAGES.rabbitmq)
          .withName(name)
          .withEntrypoint(idle.entrypoint)
          .withCommand(['docker-entrypoint.sh', 'rabbitmq-server'])
          .withEnvironment({ ...idle.environment, RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: ERL_ARGS })
          .withNetworkMode(networkId)
          .withNetworkAliases('rabbitmq')
          .withLabels({ ...resourceLabels('service', namespace), [LABEL_CONFIG]: fingerprint })
          .withStartupTimeout(120_000);
        return reused ? c.withReuse() : c;
      });
    } catch (err) {
      if (err instanceof GraderError) throw err;
      throw new GraderError(
        'ENVIRONMENT',
        `Could not start RabbitMQ (${IMAGES.rabbitmq}) in Docker: ${(err as Error)?.message ?? String(err)}\n` +
          `If the image cannot be pulled (offline?), pull it once with \`docker pull ${IMAGES.rabbitmq}\`, or use a broker you run: LABS_AMQP_URL=amqp://user:password@localhost:5672 labs check`,
        { cause: err },
      );
    }
    const host = container.getHost();
    const httpPort = container.getMappedPort(HTTP_PORT);
    await createVhost(`http://${host}:${httpPort}`, USER, PASSWORD, vhost, 20_000);
    const c = container;
    return started(container.getId(), host, container.getMappedPort(AMQP_PORT), httpPort, reused ? undefined : () => c.stop({ remove: true, removeVolumes: true }));
  }

  private async startExternal(url: string, vhost: string): Promise<StartedRabbit> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GraderError('USAGE', `Expected LABS_AMQP_URL to be a URL like amqp://user:password@localhost:5672, got \`${redactUrl(url)}\`.`);
    }
    if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') throw new GraderError('USAGE', `Expected LABS_AMQP_URL to start with amqp:// or amqps://, got \`${redactUrl(url)}\`.`);
    const user = decodeURIComponent(parsed.username || 'guest');
    const password = decodeURIComponent(parsed.password || 'guest');
    const managementUrl = `http://${parsed.hostname}:${HTTP_PORT}`;
    try {
      await createVhost(managementUrl, user, password, vhost, 0);
    } catch (err) {
      throw new GraderError('ENVIRONMENT', `Could not create this run's virtual host on the broker in LABS_AMQP_URL: its management API (${managementUrl}) said: ${(err as Error).message}. The grader needs the management plugin (rabbitmq-plugins enable rabbitmq_management) and a user allowed to create vhosts.`, { cause: err });
    }
    parsed.pathname = '';
    const base = parsed.toString().replace(/\/$/, '');
    const runUrl = amqpUrl(base, vhost);
    return {
      name: 'rabbitmq',
      alias: 'rabbitmq',
      vhost,
      url: runUrl,
      networkUrl: urlForContainers(runUrl),
      managementUrl,
      credentials: { user, password },
      source: 'external',
      reused: false,
      stop: () => deleteVhost(managementUrl, user, password, vhost),
    };
  }
}

function amqpUrl(base: string, vhost: string): string {
  return `${base}/${encodeURIComponent(vhost)}`;
}

function auth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A call to the management API; throws with the status and body on anything but 2xx. */
export async function management(baseUrl: string, user: string, password: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: auth(user, password), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Creates the vhost (retrying for `retryMs` while the broker finishes starting) and gives the user every permission on it. */
async function createVhost(baseUrl: string, user: string, password: string, vhost: string, retryMs: number): Promise<void> {
  const deadline = performance.now() + retryMs;
  for (;;) {
    try {
      await dropStale(baseUrl, user, password);
      await management(baseUrl, user, password, 'PUT', `/api/vhosts/${encodeURIComponent(vhost)}`, { description: `${DESCRIPTION_PREFIX}${new Date().toISOString()}` });
      await management(baseUrl, user, password, 'PUT', `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
      return;
    } catch (err) {
      if (performance.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function deleteVhost(baseUrl: string, user: string, password: string, vhost: string): Promise<void> {
  await management(baseUrl, user, password, 'DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`).catch(() => {});
}

/** Vhosts of runs that were killed before their teardown (their description holds the creation time). */
async function dropStale(baseUrl: string, user: string, password: string): Promise<void> {
  const vhosts = (await management(baseUrl, user, password, 'GET', '/api/vhosts?columns=name,description').catch(() => [])) as { name: string; description?: string }[];
  for (const v of vhosts ?? []) {
    if (!v.description?.startsWith(DESCRIPTION_PREFIX)) continue;
    const created = Date.parse(v.description.slice(DESCRIPTION_PREFIX.length));
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) await deleteVhost(baseUrl, user, password, v.name);
  }
}

/** The checks' view of the broker: queue counters through the management API. */
export function queueStats(rabbit: StartedRabbit, queue: string): Promise<QueueStats | undefined> {
  return management(rabbit.managementUrl, rabbit.credentials.user, rabbit.credentials.password, 'GET', `/api/queues/${encodeURIComponent(rabbit.vhost)}/${encodeURIComponent(queue)}`).then(
    (q) => q as QueueStats,
    (err: Error) => (/HTTP 404/.test(err.message) ? undefined : Promise.reject(err)),
  );
}

/**
 * The learner's way to the broker: a TCP path of the grader's own (a one-node fault network) between the
 * learner's processes and the run's vhost. AMQP_URL (host runtime) points at it; the grader's own channel goes
 * to the broker directly, so checks see the queues while the learner's processes are cut off.
 *
 * Why not restart the container: it is warm and shared, and runs in parallel (other labs, other helpers) have
 * their own vhosts in it; a restart would cut them all. A dedicated broker for one check costs a cold start
 * (~10 s) plus a restart (~5 s). What a restart is to the learner's processes is what this path reproduces:
 * every connection cut without a close frame (the broker gone), new connections refused until it is back.
 * What a restart keeps (durable queues, persistent messages, unacked deliveries returned to their queue when
 * the connection dies) the broker does here as it would there: the broker-side socket is reset too, so the
 * broker drops the connection at once and requeues what it held.
 */
export class AmqpPath {
  private constructor(
    private readonly network: import('../net/fault-network.ts').FaultNetwork,
    /** AMQP_URL for the learner's processes (through the path). */
    readonly url: string,
  ) {}

  /** A path to the broker in `rabbit.url`; undefined for amqps:// (TLS names the broker's host: no proxy in between). */
  static async open(rabbit: StartedRabbit): Promise<AmqpPath | undefined> {
    const target = new URL(rabbit.url);
    if (target.protocol !== 'amqp:') return undefined;
    const { FaultNetwork, CLIENT } = await import('../net/fault-network.ts');
    const port = Number(target.port || AMQP_PORT);
    const network = new FaultNetwork(['rabbitmq'], () => port, () => target.hostname.replace(/^\[|\]$/g, ''));
    await network.listen();
    const learner = new URL(rabbit.url);
    const [host, p] = network.address(CLIENT, 'rabbitmq').split(':');
    learner.hostname = host!;
    learner.port = p!;
    return new AmqpPath(network, learner.toString());
  }

  /** The learner's connections to the broker open now. */
  get connections(): number {
    return this.network.openConnections('client', 'rabbitmq');
  }

  /**
   * A broker restart as the learner's processes see it: their connections reset, new ones reset at once for
   * `downMs`, then accepted again. Returns how many connections were cut.
   */
  async restart(downMs: number, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): Promise<{ cut: number }> {
    const cut = this.connections;
    this.network.reset('client', 'rabbitmq');
    try {
      await sleep(downMs);
    } finally {
      this.network.heal();
    }
    return { cut };
  }

  /** What happened on the path, with times (for a failure transcript). */
  transcript(): string {
    return this.network.transcript().replace(/client -> rabbitmq/g, 'your processes -> RabbitMQ').replace(/^(\s*\d+ ms\s+)heal$/gm, '$1RabbitMQ accepts connections again');
  }

  close(): Promise<void> {
    return this.network.close();
  }
}
