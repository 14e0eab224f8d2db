// What every started service looks like, whatever runs it (a warm container or a server the user runs).
import type { ServiceName } from '../types.ts';

export interface StartedService {
  readonly name: ServiceName;
  /** Host name of the service on the run's Docker network (`postgres`, `redis`). */
  readonly alias: string;
  /** The run's own database on this service, for processes on this machine (the local runtime, the checks). */
  readonly url: string;
  /** The same database for a container on the run's network (`--runtime docker`). */
  readonly networkUrl: string;
  /** The Docker container, when the grader runs the service; undefined for a server the user runs. */
  readonly containerId?: string;
  readonly source: 'container' | 'external';
  /** True when the container is kept warm after stop() for the next run (LABS_KEEP_SERVICES is not 0). */
  readonly reused: boolean;
  /** Drops the run's data; stops the container unless it is kept warm for the next run. */
  stop(): Promise<void>;
}

/** The grader's own PostgreSQL connections announce themselves, so checks can leave them out of pg_stat_activity. */
export const GRADER_APPLICATION_NAME = 'backend-labs-grader';

/** Name of the environment variable the learner's server reads, per service. */
export const SERVICE_ENV: Record<ServiceName, string> = { postgres: 'DATABASE_URL', redis: 'REDIS_URL', rabbitmq: 'AMQP_URL' };

/** Variables that replace the containers with servers the user already runs. */
export const EXTERNAL_URL_ENV: Record<ServiceName, string> = { postgres: 'LABS_DATABASE_URL', redis: 'LABS_REDIS_URL', rabbitmq: 'LABS_AMQP_URL' };

/** Loopback hosts are rewritten to this name for containers (`--runtime docker` with a server the user runs). */
export const DOCKER_HOST_ALIAS = 'host.docker.internal';

/** The URL a container uses to reach a server the user runs on this machine. */
export function urlForContainers(url: string): string {
  const u = new URL(url);
  if (['localhost', '127.0.0.1', '[::1]', '::1'].includes(u.hostname)) u.hostname = DOCKER_HOST_ALIAS;
  return u.toString();
}

/** `labs_<lab>_<run>`: a database/schema name that says where it came from (and is a plain identifier). */
export function runDatabaseName(labId: string, runId: string): string {
  return `labs_${labId.replace(/[^a-z0-9]/g, '_')}_${runId}`.slice(0, 63);
}
