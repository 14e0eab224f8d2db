// PostgreSQL for a run: a warm container (testcontainers, reused between runs) or a server the user runs
// (LABS_DATABASE_URL). Every run gets a database of its own, created at start and dropped at stop, so runs
// never see each other's rows.
//
//   const pg = await new PostgresService().withReuse().withDatabase('labs_sql_crud_1a2b3c4d').start();
//   pg.url         postgres://labs:labs@localhost:32768/labs_sql_crud_1a2b3c4d   (this machine)
//   pg.networkUrl  postgres://labs:labs@postgres:5432/labs_sql_crud_1a2b3c4d     (containers on the run's network)
//   await pg.stop()                                                              (drops the database)
import type { Client } from 'pg';
import type { GenericContainer } from 'testcontainers';
import { GraderError } from '../errors.ts';
import { configFingerprint, dockerClient, dockerNamespace, ensureSharedNetwork, findWarmContainer, idleStop, LABEL_CONFIG, loadTestcontainers, noDockerForServices, redactUrl, resourceLabels, sharedNetworkName, startReusable } from './docker.ts';
import { IMAGES } from './images.ts';
import { GRADER_APPLICATION_NAME, urlForContainers, type StartedService } from './service.ts';

export { GRADER_APPLICATION_NAME };

/** A per-run database left behind by a killed run is dropped by a later run after this long. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;
const COMMENT_PREFIX = 'backend-labs run ';
const USER = 'labs';
const PASSWORD = 'labs';
const PORT = 5432;
/**
 * Room for many runs at once and for a learner's server that opens a connection per request (a check catches
 * it); no fsync: this is a throwaway database, and durability against a crash of the machine is not graded
 * (a crash of the learner's server is, and committed data survives that either way).
 */
const COMMAND = [
  'postgres', '-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  // Statement accounting for checks about what the database itself saw (grader/services/pg-insight.ts). Part of
  // the container's fingerprint: a warm container started without it is replaced on the next run.
  '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.max=10000',
];
/** initdb without fsync: a cold start is about a second faster. */
const INITDB_ARGS = '--no-sync';

/** Docker's "no health check" (the image's own, if any, is off too); testcontainers' type does not list it. */
const NO_HEALTHCHECK = { test: ['NONE'] } as unknown as Parameters<GenericContainer['withHealthCheck']>[0];

type PgModule = typeof import('pg');
let pgModule: Promise<PgModule> | undefined;
export async function loadPg(): Promise<PgModule> {
  pgModule ??= import('pg').then((m) => ((m as unknown as { default?: PgModule }).default ?? m) as PgModule);
  return pgModule;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export interface StartedPostgres extends StartedService {
  readonly name: 'postgres';
  /** The run's database (or, on a server where the user may not create databases, the run's schema). */
  readonly database: string;
  readonly isolation: 'database' | 'schema';
}

export class PostgresService {
  private reuse = false;
  private externalUrl?: string;
  private namespace?: string;
  private database?: string;
  private template?: PgTemplate;

  /**
   * Make the run's database a copy of a seeded template (built once per container, then copied in about a
   * second): `CREATE DATABASE <run> TEMPLATE <template>`.
   */
  withTemplate(template: PgTemplate | undefined): this {
    this.template = template;
    return this;
  }

  /** Keep the container running after stop() and pick it up again on the next start (testcontainers reuse). */
  withReuse(reuse = true): this {
    this.reuse = reuse;
    return this;
  }

  /** Use a server the user runs (LABS_DATABASE_URL) instead of a container. */
  withExternalUrl(url: string | undefined): this {
    this.externalUrl = url?.trim() || undefined;
    return this;
  }

  /** Scope of the warm container's name and labels (default: LABS_DOCKER_NAMESPACE or `backend-labs`). */
  withNamespace(namespace: string): this {
    this.namespace = namespace;
    return this;
  }

  /** Name of the run's own database (required): created by start(), dropped by stop(). */
  withDatabase(name: string): this {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new GraderError('INTERNAL', `Expected a database name of lowercase letters, digits and _, got \`${name}\`.`);
    this.database = name;
    return this;
  }

  async start(): Promise<StartedPostgres> {
    if (!this.database) throw new GraderError('INTERNAL', 'PostgresService: call withDatabase(name) before start().');
    const database = this.database;
    return this.externalUrl ? this.startExternal(this.externalUrl, database) : this.startContainer(database);
  }

  private async startContainer(database: string): Promise<StartedPostgres> {
    const namespace = this.namespace ?? dockerNamespace();
    const name = `${namespace}-postgres`;
    const network = sharedNetworkName(namespace);
    const idle = idleStop('INT'); // PostgreSQL's fast shutdown, the image's own stop signal
    const fingerprint = configFingerprint([IMAGES.postgres, COMMAND, INITDB_ARGS, USER, PASSWORD, network, idle.fingerprint, 'no-healthcheck']);
    const reused = this.reuse;
    const started = (containerId: string, admin: string, made: RunDatabase, stopContainer?: () => Promise<unknown>): StartedPostgres => ({
      name: 'postgres',
      alias: 'postgres',
      database,
      isolation: 'database',
      url: withDatabase(admin, database),
      networkUrl: `postgres://${USER}:${PASSWORD}@postgres:${PORT}/${database}`,
      containerId,
      source: 'container',
      reused,
      async stop() {
        try {
          await made.drop();
        } finally {
          await stopContainer?.();
        }
      },
    });

    // Warm path: the container is running with these settings; one Docker API call, no testcontainers.
    if (reused) {
      // The client library loads while Docker answers (each costs tens of ms; neither needs the other).
      void loadPg().catch(() => {});
      const warm = await findWarmContainer(name, fingerprint, network, `${PORT}/tcp`);
      if (warm) {
        const admin = `postgres://${USER}:${PASSWORD}@${warm.host}:${warm.port}/postgres`;
        const made = await createRunDatabase(admin, database, false, 1000, this.template).catch(() => undefined);
        if (made) return started(warm.id, admin, made);
      }
    }

    const client = await dockerClient(() => noDockerForServices(['postgres']));
    const [{ PostgreSqlContainer }, { Wait }] = await Promise.all([import('@testcontainers/postgresql'), loadTestcontainers()]);
    let container;
    try {
      const networkId = await ensureSharedNetwork(client, namespace);
      container = await startReusable(client, name, fingerprint, () => {
        const c = new PostgreSqlContainer(IMAGES.postgres)
          .withUsername(USER)
          .withPassword(PASSWORD)
          .withDatabase(USER)
          .withName(name)
          .withEntrypoint(idle.entrypoint)
          .withCommand(['docker-entrypoint.sh', ...COMMAND])
          .withEnvironment({ POSTGRES_INITDB_ARGS: INITDB_ARGS, ...idle.environment })
          .withNetworkMode(networkId)
          .withNetworkAliases('postgres')
          .withLabels({ ...resourceLabels('service', namespace), [LABEL_CONFIG]: fingerprint })
          // No health check: testcontainers' default runs pg_isready through `docker exec` every 250 ms for the
          // container's whole life (about a fifth of a core, idle). Readiness is waited for once, at start: the
          // log line, then connecting below retries until the real server (not initdb's) accepts.
          .withHealthCheck(NO_HEALTHCHECK)
          .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/))
          .withStartupTimeout(60_000);
        return reused ? c.withReuse() : c;
      });
    } catch (err) {
      if (err instanceof GraderError) throw err;
      throw new GraderError(
        'ENVIRONMENT',
        `Could not start PostgreSQL (${IMAGES.postgres}) in Docker: ${(err as Error)?.message ?? String(err)}\n` +
          `If the image cannot be pulled (offline?), pull it once with \`docker pull ${IMAGES.postgres}\`, or use a server you run: LABS_DATABASE_URL=postgres://user:password@localhost:5432/postgres labs check`,
        { cause: err },
      );
    }
    const admin = `postgres://${USER}:${PASSWORD}@${container.getHost()}:${container.getPort()}/postgres`;
    const made = await createRunDatabase(admin, database, false, undefined, this.template);
    const c = container;
    return started(container.getId(), admin, made, reused ? undefined : () => c.stop({ remove: true, removeVolumes: true }));
  }

  private async startExternal(url: string, database: string): Promise<StartedPostgres> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GraderError('USAGE', `Expected LABS_DATABASE_URL to be a URL like postgres://user:password@localhost:5432/postgres, got \`${redactUrl(url)}\`.`);
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new GraderError('USAGE', `Expected LABS_DATABASE_URL to start with postgres:// or postgresql://, got \`${redactUrl(url)}\`.`);
    }
    const made = await createRunDatabase(url, database, true, undefined, this.template);
    const runUrl = made.isolation === 'database' ? withDatabase(url, database) : withSearchPath(url, database);
    return {
      name: 'postgres',
      alias: 'postgres',
      database,
      isolation: made.isolation,
      url: runUrl,
      networkUrl: urlForContainers(runUrl),
      source: 'external',
      reused: false,
      stop: () => made.drop(),
    };
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** For a server where the user may not create databases: the run's schema, first on the search path. */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

async function connectAdmin(url: string, external: boolean, retryMs = 10_000): Promise<Client> {
  const pg = await loadPg();
  // A container that just became healthy may still refuse through the port mapping for a moment.
  const deadline = performance.now() + (external ? 0 : retryMs);
  for (;;) {
    const client = new pg.Client({ connectionString: url, application_name: GRADER_APPLICATION_NAME, connectionTimeoutMillis: 5000 });
    client.on('error', () => {}); // a lost connection fails the query that uses it; it must not crash the grader
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => {});
      if (performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (external) {
        throw new GraderError(
          'ENVIRONMENT',
          `Could not connect to the PostgreSQL server in LABS_DATABASE_URL (${redactUrl(url)}): ${(err as Error).message}. Is it running, and are the user and password right?`,
          { cause: err },
        );
      }
      throw new GraderError('ENVIRONMENT', `PostgreSQL started in Docker but refused connections: ${(err as Error).message}. Run \`labs down\` and try again.`, { cause: err });
    }
  }
}

interface RunDatabase {
  isolation: 'database' | 'schema';
  drop(): Promise<void>;
}

/** Creates the run's database (or schema, where the user may not create databases) and says how to drop it. */
async function createRunDatabase(adminUrl: string, name: string, external: boolean, retryMs?: number, template?: PgTemplate): Promise<RunDatabase> {
  const admin = await connectAdmin(adminUrl, external, retryMs);
  try {
    await dropStale(admin);
    if (template) {
      // A seeded lab: the run's database is a copy of the template (no spare: spares are empty databases).
      const source = await ensureTemplate(admin, adminUrl, template);
      await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(source)}`);
      await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS '${COMMENT_PREFIX}${new Date().toISOString()}'`).catch(() => {});
      return {
        isolation: 'database',
        drop: async () => {
          const c = await connectAdmin(adminUrl, external);
          try {
            await dropDatabase(c, name);
          } finally {
            await c.end().catch(() => {});
          }
        },
      };
    }
    try {
      // On the grader's own container, the database made ahead by the previous run is taken by renaming it (about
      // 1 ms, against about 90 ms for CREATE DATABASE and its checkpoint); the next one is made while this run goes.
      if (external || !(await claimSpare(admin, name))) await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS '${COMMENT_PREFIX}${new Date().toISOString()}'`).catch(() => {});
      const nextSpare = external ? undefined : makeSpare(adminUrl);
      return {
        isolation: 'database',
        drop: async () => {
          await nextSpare;
          const c = await connectAdmin(adminUrl, external);
          try {
            await dropDatabase(c, name);
          } finally {
            await c.end().catch(() => {});
          }
        },
      };
    } catch (err) {
      // 42501 insufficient_privilege: a server the user runs, without CREATEDB. Fall back to a schema.
      if (!external || (err as { code?: string }).code !== '42501') throw err;
    }
    await admin.query(`CREATE SCHEMA ${quoteIdent(name)}`);
    return {
      isolation: 'schema',
      drop: async () => {
        const c = await connectAdmin(adminUrl, external);
        try {
          await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
        } finally {
          await c.end().catch(() => {});
        }
      },
    };
  } catch (err) {
    if (err instanceof GraderError) throw err;
    throw new GraderError('ENVIRONMENT', `Could not create the run's database \`${name}\` on ${redactUrl(adminUrl)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await admin.end().catch(() => {});
  }
}

/**
 * The next run's database, made ahead: a fresh CREATE DATABASE like any other (from template1, nothing in it),
 * under a name no run uses. One at a time; two runs claiming it at once: one renames it, the other creates.
 */
const SPARE_DATABASE = 'labs__spare';

async function claimSpare(admin: Client, name: string): Promise<boolean> {
  try {
    await admin.query(`ALTER DATABASE ${SPARE_DATABASE} RENAME TO ${quoteIdent(name)}`);
    return true;
  } catch {
    return false; // none made yet (first run, or another run took it): create one
  }
}

async function makeSpare(adminUrl: string): Promise<void> {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: adminUrl, application_name: GRADER_APPLICATION_NAME, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${SPARE_DATABASE}`);
    await client.query(`COMMENT ON DATABASE ${SPARE_DATABASE} IS '${COMMENT_PREFIX}${new Date().toISOString()}'`);
  } catch {
    // already there (42P04), or the container is going away: the next run creates its database itself
  } finally {
    await client.end().catch(() => {});
  }
}

async function dropDatabase(client: Client, name: string): Promise<void> {
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } catch (err) {
    // PostgreSQL < 13 has no WITH (FORCE): end the sessions first.
    if ((err as { code?: string }).code !== '42601') throw err;
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  }
}

/** Databases of runs that were killed before their teardown (their comment holds the creation time). */
async function dropStale(client: Client): Promise<void> {
  const { rows } = await client
    .query<{ datname: string; comment: string }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'labs\\_%' AND shobj_description(oid, 'pg_database') LIKE $1`,
      [`${COMMENT_PREFIX}%`],
    )
    .catch(() => ({ rows: [] as { datname: string; comment: string }[] }));
  for (const row of rows) {
    const created = Date.parse(row.comment.slice(COMMENT_PREFIX.length));
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) await dropDatabase(client, row.datname).catch(() => {});
  }
}

// --- seeded template databases ------------------------------------------------------------------------------
// A lab that needs a big table (millions of rows) seeds it once per container into a template database and every
// run copies it (CREATE DATABASE ... TEMPLATE: about a second for a few hundred MB, against several seconds of
// seeding). The template's name carries a hash of its seed SQL, so a changed seed builds a new one and drops the
// old. `labs down` removes the container and its volume, templates included.

/** What a lab declares (lab.ts `postgres: { template }`): SQL run in order on an empty database, once. */
export interface PgTemplate {
  /** Short name (lowercase letters, digits, _), usually the lab's id. */
  name: string;
  /** Statements run in order on a fresh, empty database (CREATE TABLE, INSERT ... SELECT generate_series, ANALYZE...). */
  seed: string[];
}

/** `labs__tpl_<name>_<hash of the seed>`. */
export function templateDatabaseName(template: PgTemplate): string {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(template.name)) throw new GraderError('LAB_INVALID', `Expected a template name of lowercase letters, digits and _ (at most 31), got \`${template.name}\`.`);
  return `labs__tpl_${template.name}_${configFingerprint([template.seed])}`;
}

/** How long the last build of each template took in this process (ms), and how many builds it made: for reports and tests. */
export const templateBuildMs = new Map<string, number>();
export const templateBuilds = { count: 0 };

/**
 * The template's database name, built first if it does not exist. Builders serialise on an advisory lock (two
 * runs starting at once build it once); the build goes into `<name>__build`, renamed when complete, so a killed
 * build never leaves a half-seeded template behind.
 */
export async function ensureTemplate(admin: Client, adminUrl: string, template: PgTemplate): Promise<string> {
  const name = templateDatabaseName(template);
  const exists = async () => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  if (await exists()) return name;
  await admin.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
  try {
    if (await exists()) return name;
    const t0 = performance.now();
    const building = `${name}__build`;
    await dropDatabase(admin, building);
    await admin.query(`CREATE DATABASE ${quoteIdent(building)} TEMPLATE template0`);
    const pg = await loadPg();
    const seeder = new pg.Client({ connectionString: withDatabase(adminUrl, building), application_name: GRADER_APPLICATION_NAME });
    seeder.on('error', () => {});
    try {
      await seeder.connect();
      for (const statement of template.seed) {
        try {
          await seeder.query(statement);
        } catch (err) {
          throw new GraderError('LAB_INVALID', `Seeding the template database ${name} failed on:\n${statement}\nPostgreSQL said: ${(err as Error).message}`, { cause: err });
        }
      }
    } finally {
      await seeder.end().catch(() => {});
    }
    await admin.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
    // Nobody connects to a template (a connection would block every copy); IS_TEMPLATE documents what it is.
    await admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`).catch(() => {});
    await admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS 'backend-labs template ${template.name}'`).catch(() => {});
    templateBuildMs.set(name, Math.round(performance.now() - t0));
    templateBuilds.count++;
    // Older builds of the same template (another seed) are dropped.
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2`, [`labs\\_\\_tpl\\_${template.name}\\_%`, name]);
    for (const row of rows) {
      if (/__build$/.test(row.datname)) continue;
      await admin.query(`ALTER DATABASE ${quoteIdent(row.datname)} WITH IS_TEMPLATE false`).catch(() => {});
      await dropDatabase(admin, row.datname).catch(() => {});
    }
    return name;
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => {});
  }
}
