// The services phase against real containers: a database and a Redis db of its own per run, warm reuse,
// containers that stop when nothing is kept warm, and servers the user runs (LABS_DATABASE_URL /
// LABS_REDIS_URL) tested against containers this file starts itself. Needs Docker: without it every test
// here fails with the grader's "no Docker" message (never skipped).
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { RedisContainer, type StartedRedisContainer } from '@testcontainers/redis';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraderError } from '../../grader/errors.ts';
import { dockerClient, listResources, removeResources } from '../../grader/services/docker.ts';
import { IMAGES } from '../../grader/services/images.ts';
import { startServices, type ServiceSet } from '../../grader/services/index.ts';
import { cleanupProjects, explain, grade, loadLab, makeProject } from '../helpers/project.ts';

// Namespaces of their own: these tests never touch the warm containers of a developer or of other tests.
const WARM = 'labs-test-svc';
const EPHEMERAL = 'labs-test-svc-eph';
const BYO = 'labs-test-svc-byo';

async function resources(namespace: string) {
  return listResources(await dockerClient(() => 'Docker is required for this test'), namespace);
}

async function removeNamespace(namespace: string) {
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, namespace));
}

afterAll(async () => {
  cleanupProjects();
  for (const ns of [WARM, EPHEMERAL, BYO]) await removeNamespace(ns);
}, 60_000);

describe('warm containers, one database per run', () => {
  let a: ServiceSet;
  let b: ServiceSet;

  beforeAll(async () => {
    a = await startServices(['postgres', 'redis'], { labId: 'svc-test', runId: 'aaaa1111', namespace: WARM, reuse: true });
    b = await startServices(['postgres', 'redis'], { labId: 'svc-test', runId: 'bbbb2222', namespace: WARM, reuse: true });
  }, 120_000);

  it('two runs share the warm containers but not their data', async () => {
    expect(b.postgres!.containerId).toBe(a.postgres!.containerId);
    expect(b.redis!.containerId).toBe(a.redis!.containerId);
    expect(a.postgres!.database).toBe('labs_svc_test_aaaa1111');
    expect(b.postgres!.database).toBe('labs_svc_test_bbbb2222');
    expect(a.env('host').DATABASE_URL).toMatch(/^postgres:\/\/labs:labs@localhost:\d+\/labs_svc_test_aaaa1111$/);
    expect(a.env('network')).toEqual({ DATABASE_URL: 'postgres://labs:labs@postgres:5432/labs_svc_test_aaaa1111', REDIS_URL: `redis://redis:6379/${a.redis!.db}` });
    expect(b.redis!.db).not.toBe(a.redis!.db);

    await a.db().query('CREATE TABLE only_in_a (x int)');
    const seen = await b.db().query("SELECT to_regclass('only_in_a') IS NOT NULL AS there");
    expect(seen.rows[0].there).toBe(false);
    await a.redisClient().set('only-in-a', '1');
    expect(await b.redisClient().get('only-in-a')).toBeNull();
    expect(await a.redisClient().get('only-in-a')).toBe('1');
  });

  it('the grader\'s connections say who they are (checks leave them out of pg_stat_activity)', async () => {
    const { rows } = await a.db().query('SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()');
    expect(rows[0].application_name).toBe('backend-labs-grader');
  });

  it('stop() drops the run\'s database and flushes its Redis db; the containers stay warm', async () => {
    const dbName = a.postgres!.database;
    const redisUrl = a.redis!.url;
    await a.stop();
    const gone = await b.db().query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    expect(gone.rowCount).toBe(0);
    const probe = new Redis(redisUrl, { lazyConnect: true });
    await probe.connect();
    expect(await probe.dbsize()).toBe(0);
    await probe.select(0);
    expect(await probe.get(`backend-labs:lease:${a.redis!.db}`)).toBeNull();
    probe.disconnect();
    await b.stop();
    const left = await resources(WARM);
    expect(left.containers.map((c) => [c.name, c.state]).sort()).toEqual([
      [`${WARM}-postgres`, 'running'],
      [`${WARM}-redis`, 'running'],
    ]);
  });

  it('a third run finds the running containers (warm path: one Docker API call) and is quick', async () => {
    const t0 = performance.now();
    const c = await startServices(['postgres', 'redis'], { labId: 'svc-test', runId: 'cccc3333', namespace: WARM, reuse: true });
    const ms = performance.now() - t0;
    try {
      expect(c.postgres!.reused).toBe(true);
      expect(c.postgres!.containerId).toBe(b.postgres!.containerId);
      // Warm: no container start, no initdb. Generous bound for a loaded 2-core machine (measured ~0.2 s).
      expect(ms).toBeLessThan(3000);
    } finally {
      await c.stop();
    }
  });
});

describe('warm container stopped (Docker restarted, docker stop...)', () => {
  it('testcontainers reuse starts the same container again, and the run gets a fresh database in it', { timeout: 120_000 }, async () => {
    const first = await startServices(['postgres'], { labId: 'svc-test', runId: 'llll1111', namespace: WARM, reuse: true });
    const id = first.postgres!.containerId!;
    await first.stop();
    const client = await dockerClient(() => 'Docker is required for this test');
    await client.container.dockerode.getContainer(id).stop({ t: 1 });
    const again = await startServices(['postgres'], { labId: 'svc-test', runId: 'mmmm2222', namespace: WARM, reuse: true });
    try {
      expect(again.postgres!.containerId).toBe(id);
      const { rows } = await again.db().query('SELECT current_database() AS db');
      expect(rows[0].db).toBe('labs_svc_test_mmmm2222');
    } finally {
      await again.stop();
    }
  });
});

describe('nothing kept warm (LABS_KEEP_SERVICES=0)', () => {
  it('the containers and the network are gone after stop()', { timeout: 120_000 }, async () => {
    const s = await startServices(['postgres', 'redis'], { labId: 'svc-test', runId: 'dddd4444', namespace: EPHEMERAL, reuse: false });
    const during = await resources(EPHEMERAL);
    expect(during.containers.length).toBe(2);
    expect(during.networks.map((n) => n.name)).toEqual([`${EPHEMERAL}-net`]);
    await s.stop();
    const after = await resources(EPHEMERAL);
    expect(after).toEqual({ containers: [], networks: [], images: [] });
  });
});

describe('servers the user runs (LABS_DATABASE_URL, LABS_REDIS_URL)', () => {
  let postgres: StartedPostgreSqlContainer;
  let redis: StartedRedisContainer;

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([
      new PostgreSqlContainer(IMAGES.postgres).withUsername('owner').withPassword('secret-pw').withDatabase('app').start(),
      new RedisContainer(IMAGES.redis).start(),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([postgres?.stop(), redis?.stop()]);
  }, 60_000);

  it('PostgreSQL: a fresh database per run in the user\'s server, dropped at the end; no container started', async () => {
    const url = postgres.getConnectionUri();
    const s = await startServices(['postgres'], { labId: 'svc-test', runId: 'eeee5555', namespace: BYO, urls: { postgres: url } });
    expect(s.postgres!.source).toBe('external');
    expect(s.postgres!.containerId).toBeUndefined();
    expect(s.env('host').DATABASE_URL).toBe(`postgres://owner:secret-pw@${postgres.getHost()}:${postgres.getPort()}/labs_svc_test_eeee5555`);
    // A container reaches a server on this machine through host.docker.internal.
    expect(s.env('network').DATABASE_URL).toBe(`postgres://owner:secret-pw@host.docker.internal:${postgres.getPort()}/labs_svc_test_eeee5555`);
    await s.db().query('CREATE TABLE t (x int)');
    await s.stop();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'labs_svc_test_eeee5555'");
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
    expect((await resources(BYO)).containers).toEqual([]);
  });

  it('PostgreSQL: a user without CREATEDB gets a schema of its own instead, dropped at the end', async () => {
    const admin = new pg.Client({ connectionString: postgres.getConnectionUri() });
    await admin.connect();
    try {
      await admin.query("CREATE ROLE limited LOGIN PASSWORD 'limited-pw' NOCREATEDB");
      await admin.query('GRANT CREATE ON DATABASE app TO limited');
      const url = `postgres://limited:limited-pw@${postgres.getHost()}:${postgres.getPort()}/app`;
      const s = await startServices(['postgres'], { labId: 'svc-test', runId: 'ffff6666', namespace: BYO, urls: { postgres: url } });
      expect(s.postgres!.isolation).toBe('schema');
      await s.db().query('CREATE TABLE todos (x int)');
      const where = await admin.query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'todos'");
      expect(where.rows).toEqual([{ table_schema: 'labs_svc_test_ffff6666' }]);
      await s.stop();
      const left = await admin.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'labs_svc_test_ffff6666'");
      expect(left.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('Redis: a leased logical database, flushed and given back at the end; /N in the URL pins it', async () => {
    const url = redis.getConnectionUrl();
    const s = await startServices(['redis'], { labId: 'svc-test', runId: 'gggg7777', namespace: BYO, urls: { redis: url } });
    expect(s.redis!.source).toBe('external');
    expect(s.redis!.db).toBeGreaterThanOrEqual(1);
    await s.redisClient().set('k', 'v');
    const db = s.redis!.db;
    await s.stop();
    const probe = new Redis(`${url}/${db}`);
    try {
      expect(await probe.dbsize()).toBe(0);
    } finally {
      probe.disconnect();
    }
    const pinned = await startServices(['redis'], { labId: 'svc-test', runId: 'hhhh8888', namespace: BYO, urls: { redis: `${url}/7` } });
    expect(pinned.redis!.db).toBe(7);
    expect(pinned.env('host').REDIS_URL).toBe(`${url}/7`);
    await expect(startServices(['redis'], { labId: 'svc-test', runId: 'iiii9999', namespace: BYO, urls: { redis: `${url}/7` } })).rejects.toThrow(/database 7 is in use/);
    await pinned.stop();
  });

  it('the whole sql-crud lab passes against the user\'s PostgreSQL, without starting a container', { timeout: 120_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const previous = process.env.LABS_DOCKER_NAMESPACE;
    process.env.LABS_DOCKER_NAMESPACE = BYO;
    try {
      const result = await grade(lab, makeProject(lab, 'solution'), { serviceUrls: { postgres: postgres.getConnectionUri() } });
      expect(result.status, explain(result)).toBe('pass');
    } finally {
      if (previous === undefined) delete process.env.LABS_DOCKER_NAMESPACE;
      else process.env.LABS_DOCKER_NAMESPACE = previous;
    }
    expect((await resources(BYO)).containers).toEqual([]);
  });

  it('with --runtime docker, the learner\'s container reaches the user\'s PostgreSQL through host.docker.internal', { timeout: 240_000 }, async () => {
    const lab = await loadLab('sql-crud');
    const previous = process.env.LABS_DOCKER_NAMESPACE;
    process.env.LABS_DOCKER_NAMESPACE = BYO;
    try {
      const result = await grade(lab, makeProject(lab, 'solution'), { runtime: 'docker', serviceUrls: { postgres: postgres.getConnectionUri() } });
      expect(result.status, explain(result)).toBe('pass');
    } finally {
      if (previous === undefined) delete process.env.LABS_DOCKER_NAMESPACE;
      else process.env.LABS_DOCKER_NAMESPACE = previous;
    }
    const left = await resources(BYO);
    expect(left.containers).toEqual([]);
    expect(left.images).toEqual([]);
  });

  it('a bad or unreachable URL is an environment error that names the variable and hides the password', async () => {
    const bad = startServices(['postgres'], { labId: 'svc-test', runId: 'jjjj0000', urls: { postgres: 'mysql://u:p@localhost/x' } });
    await expect(bad).rejects.toThrow(/LABS_DATABASE_URL to start with postgres:\/\//);
    const closed = startServices(['postgres'], { labId: 'svc-test', runId: 'kkkk0000', urls: { postgres: 'postgres://u:hunter2@127.0.0.1:1/x' } });
    await expect(closed).rejects.toBeInstanceOf(GraderError);
    await expect(closed).rejects.toThrow(/LABS_DATABASE_URL \(postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x\)/);
    await expect(closed).rejects.not.toThrow(/hunter2/);
  });
});
