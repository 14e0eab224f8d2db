// What the database itself saw (grader/services/pg-insight.ts) and seeded template databases
// (grader/services/postgres.ts), against a real PostgreSQL container in a namespace of this file's own. Needs
// Docker: without it every test here fails with the grader's "no Docker" message (never skipped).
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerClient, LABEL_CONFIG, listResources, removeResources } from '../../grader/services/docker.ts';
import { IMAGES } from '../../grader/services/images.ts';
import { startServices, templateDatabaseName, type PgTemplate, type ServiceSet } from '../../grader/services/index.ts';
import { templateBuildMs, templateBuilds } from '../../grader/services/postgres.ts';
import { describePlan, GRADER_ROLE, pgInsight, seqScanOn, tableAccess, usesIndexOn } from '../../grader/services/pg-insight.ts';

const NS = 'labs-test-pginsight';

async function removeNamespace() {
  const client = await dockerClient(() => 'Docker is required for this test');
  await removeResources(client, await listResources(client, NS));
}

const ROWS = 300_000;
const TEMPLATE: PgTemplate = {
  name: 'pginsight_test',
  seed: [
    'CREATE TABLE items (id bigint PRIMARY KEY, k integer NOT NULL, label text NOT NULL)',
    `INSERT INTO items SELECT g, g % 1000, 'item ' || g FROM generate_series(1, ${ROWS}) g`,
    'VACUUM (ANALYZE) items',
  ],
};

const sets: ServiceSet[] = [];
async function run(runId: string, template: PgTemplate | undefined = TEMPLATE): Promise<ServiceSet> {
  const s = await startServices(['postgres'], { labId: 'pginsight', runId, namespace: NS, reuse: true, postgresTemplate: template });
  sets.push(s);
  return s;
}

/** The learner's side: a plain connection on DATABASE_URL (the owner's role, like a learner's server). */
async function learner(s: ServiceSet): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: s.env('host').DATABASE_URL, application_name: 'learner' });
  await c.connect();
  return c;
}

beforeAll(async () => {
  await removeNamespace();
  // A warm container of an older grader: same name, no pg_stat_statements, another settings fingerprint.
  execFileSync('docker', ['run', '-d', '--name', `${NS}-postgres`, '--label', `${LABEL_CONFIG}=00000000`, '--label', `dev.backend-labs.namespace=${NS}`, '-e', 'POSTGRES_PASSWORD=labs', '-e', 'POSTGRES_USER=labs', IMAGES.postgres]);
}, 60_000);

afterAll(async () => {
  for (const s of sets) await s.stop().catch(() => {});
  await removeNamespace();
}, 60_000);

describe('seeded template databases', () => {
  it('replaces a warm container started without pg_stat_statements, builds the template once, copies it per run', { timeout: 180_000 }, async () => {
    const t0 = performance.now();
    const a = await run('aaaa0001');
    const cold = performance.now() - t0;
    const preload = await a.db().query("SELECT current_setting('shared_preload_libraries') AS libs");
    expect(preload.rows[0].libs).toContain('pg_stat_statements');
    const name = templateDatabaseName(TEMPLATE);
    expect(templateBuildMs.get(name), 'the first run builds the template').toBeGreaterThan(0);
    expect((await a.db().query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(ROWS);

    templateBuildMs.delete(name);
    const t1 = performance.now();
    const b = await run('bbbb0002');
    const warm = performance.now() - t1;
    expect(templateBuildMs.has(name), 'a later run copies the template, it does not seed again').toBe(false);
    expect((await b.db().query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(ROWS);
    console.log(`template of ${ROWS} rows: cold run (container + seed + copy) ${Math.round(cold)} ms, warm run (copy) ${Math.round(warm)} ms`);

    // Copies, not the same data: a change in one run is not in the other, nor in the template.
    await a.db().query('DELETE FROM items WHERE id <= 10');
    expect((await b.db().query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(ROWS);
    const c = await run('cccc0003');
    expect((await c.db().query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(ROWS);

    // Another seed is another template; the old one is dropped when the new one is built.
    const changed: PgTemplate = { ...TEMPLATE, seed: [...TEMPLATE.seed, 'CREATE TABLE extra (x int)'] };
    const d = await run('dddd0004', changed);
    expect((await d.db().query("SELECT to_regclass('extra') IS NOT NULL AS there")).rows[0].there).toBe(true);
    const dbs = (await d.db().query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'labs\\_\\_tpl\\_pginsight%'")).rows.map((r) => r.datname);
    expect(dbs).toEqual([templateDatabaseName(changed)]);

    // Runs' databases go at stop; the template stays for the next run.
    await a.stop();
    const left = (await b.db().query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);
    expect(left).not.toContain('labs_pginsight_aaaa0001');
    expect(left).toContain(templateDatabaseName(changed));
  });

  it('two runs starting at once build the template once', { timeout: 120_000 }, async () => {
    const fresh: PgTemplate = { name: 'pginsight_race', seed: ['CREATE TABLE t (x int)', 'INSERT INTO t SELECT generate_series(1, 50000)'] };
    const builds = templateBuilds.count;
    const [x, y] = await Promise.all([run('eeee0005', fresh), run('ffff0006', fresh)]);
    expect(templateBuilds.count - builds, 'the second waits on the advisory lock and finds the template built').toBe(1);
    for (const s of [x, y]) expect((await s.db().query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(50_000);
  });
});

describe('statements the learner ran (pg_stat_statements)', () => {
  let a: ServiceSet;
  let b: ServiceSet;
  beforeAll(async () => {
    a = await run('gggg0007');
    b = await run('hhhh0008');
    await a.db().query('CREATE INDEX IF NOT EXISTS items_k ON items (k)');
  }, 120_000);

  it('counts the learner\'s statements of this run only: not the grader\'s, not before or after the block, not another run\'s', { timeout: 60_000 }, async () => {
    const mine = await learner(a);
    const theirs = await learner(b);
    try {
      await mine.query('SELECT label FROM items WHERE id = $1', [1]); // before the block
      const insight = pgInsight({ db: a.db() });
      const { result, statements } = await insight.statements(async () => {
        for (let i = 0; i < 3; i++) await mine.query('SELECT label FROM items WHERE id = $1', [100 + i]);
        await mine.query('SELECT count(*) FROM items WHERE label LIKE $1', ['item 99%']);
        await theirs.query('SELECT label FROM items WHERE id = $1', [5]); // another run's database
        await insight.query('SELECT label FROM items WHERE id = $1', [7]); // the grader's role
        return 'done';
      });
      await mine.query('SELECT label FROM items WHERE id = $1', [2]); // after the block
      expect(result).toBe('done');
      const byId = statements.find((s) => /WHERE id = \$1/.test(s.query));
      const scan = statements.find((s) => /LIKE/.test(s.query));
      expect(byId, JSON.stringify(statements)).toMatchObject({ calls: 3, rows: 3 });
      expect(scan, JSON.stringify(statements)).toMatchObject({ calls: 1, rows: 1 });
      expect(statements).toHaveLength(2);
      // Buffers: an index lookup touches a handful of blocks, a full scan every block of the table.
      expect(byId!.blocks / 3).toBeLessThan(10);
      expect(scan!.blocks).toBeGreaterThan(1000);
    } finally {
      await mine.end();
      await theirs.end();
    }
  });

  it('counts WAL records per insert: one for the row, one per index entry', { timeout: 60_000 }, async () => {
    const mine = await learner(a);
    try {
      const insight = pgInsight({ db: a.db() });
      await insight.query('CREATE TABLE bare (id bigint GENERATED ALWAYS AS IDENTITY, k int, label text)');
      await insight.query('CREATE TABLE indexed (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int, label text)');
      await insight.query('CREATE INDEX ON indexed (k)');
      await insight.query('CREATE INDEX ON indexed (label)');
      const perInsert = async (table: string) => {
        const { statements } = await insight.statements(async () => {
          for (let i = 0; i < 50; i++) await mine.query(`INSERT INTO ${table} (k, label) VALUES ($1, $2)`, [i, `x${i}`]);
        });
        const ins = statements.filter((s) => s.query.startsWith('INSERT'));
        return ins.reduce((n, s) => n + s.walRecords, 0) / 50;
      };
      const bare = await perInsert('bare');
      const indexed = await perInsert('indexed');
      expect(bare).toBeGreaterThanOrEqual(1);
      expect(bare).toBeLessThan(1.5);
      expect(indexed).toBeGreaterThanOrEqual(4); // row + primary key + 2 indexes
      expect(indexed).toBeLessThan(4.5);
    } finally {
      await mine.end();
    }
  });

  it('plans: index scans, bitmap scans and seq scans on a table are told apart', { timeout: 60_000 }, async () => {
    const insight = pgInsight({ db: a.db() });
    const byId = await insight.plan('SELECT * FROM items WHERE id = $1', [42]);
    expect(usesIndexOn(byId, 'items'), describePlan(byId)).toBe(true);
    expect(tableAccess(byId, 'items')[0]).toMatchObject({ kind: 'index', index: 'items_pkey' });
    const byK = await insight.plan('SELECT * FROM items WHERE k = $1', [7]);
    expect(usesIndexOn(byK, 'items'), describePlan(byK)).toBe(true);
    expect(tableAccess(byK, 'items')[0].indexes).toContain('items_k');
    const scan = await insight.plan('SELECT * FROM items WHERE label LIKE $1', ['item 9%']);
    expect(seqScanOn(scan, 'items'), describePlan(scan)).toBe(true);
    expect(usesIndexOn(scan, 'items')).toBe(false);
    expect(describePlan(scan)).toMatch(/Seq Scan on items/);
    const idx = await insight.indexes('items');
    expect(idx.map((i) => i.name).sort()).toEqual(['items_k', 'items_pkey']);
    expect(idx.find((i) => i.name === 'items_pkey')).toMatchObject({ primary: true, predicate: undefined });
    await insight.query("CREATE INDEX items_hot ON items (k) WHERE label LIKE 'item 1%'");
    expect((await insight.indexes('items')).find((i) => i.name === 'items_hot')?.predicate).toMatch(/item 1%/);
    // The grader's role exists and is not the learner's.
    const roles = await a.db().query('SELECT current_user AS me, (SELECT count(*)::int FROM pg_roles WHERE rolname = $1) AS n', [GRADER_ROLE]);
    expect(roles.rows[0]).toEqual({ me: 'labs', n: 1 });
  });
});

describe('a server the user runs without pg_stat_statements', () => {
  it('statements() fails with an ENVIRONMENT error that says how to load it; plans still work', { timeout: 120_000 }, async () => {
    const name = `${NS}-plain`;
    execFileSync('docker', ['run', '-d', '--name', name, '--label', `dev.backend-labs.namespace=${NS}`, '-e', 'POSTGRES_PASSWORD=labs', '-e', 'POSTGRES_USER=labs', '-p', '127.0.0.1::5432', IMAGES.postgres]);
    const port = execFileSync('docker', ['port', name, '5432/tcp']).toString().trim().split('\n')[0].split(':').pop();
    const url = `postgres://labs:labs@127.0.0.1:${port}/postgres`;
    // The image's init restarts the server once: wait until it answers for good.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const c = new pg.Client({ connectionString: url });
      try {
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        if (execFileSync('docker', ['logs', name], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().includes('PostgreSQL init process complete')) break;
      } catch {
        await c.end().catch(() => {});
      }
      if (Date.now() > deadline) throw new Error('the plain PostgreSQL did not start');
      await new Promise((r) => setTimeout(r, 500));
    }
    const s = await startServices(['postgres'], { labId: 'pginsight', runId: 'plain0001', namespace: NS, urls: { postgres: url } });
    sets.push(s);
    const insight = pgInsight({ db: s.db() });
    const err = await insight.statements(async () => {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENVIRONMENT' });
    expect((err as Error).message).toMatch(/shared_preload_libraries = 'pg_stat_statements'/);
    const plan = await insight.plan('SELECT 1 AS x');
    expect(plan['Node Type']).toBe('Result');
  });
});
