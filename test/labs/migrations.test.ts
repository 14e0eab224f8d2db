// migrations needs PostgreSQL: the grader starts it in Docker (kept warm between runs). Without Docker these
// tests fail with the grader's "no Docker" message; they never skip. Variants run side by side: no check depends
// on timing (the concurrency check waits on what PostgreSQL shows, not on a clock).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLab } from '../helpers/verify-lab.ts';
import { cleanupProjects, explain, grade, loadLab, makeProject } from '../helpers/project.ts';
import { defineLab, describeSchema, diffSchemas, schemaSnapshot, type CommandResult, type SchemaSnapshot } from '../../grader/index.ts';
import { runLab } from '../../grader/run.ts';

verifyLab('migrations', { timeoutMs: 400_000, concurrent: true });

/** Migration 2 creates its table, then hangs in the database (a statement that never ends). */
const HANGING_002 = `export const up = (pgm) => {
  pgm.sql('CREATE TABLE posts (id bigint PRIMARY KEY)');
  pgm.sql('SELECT pg_sleep(600)');
};
export const down = (pgm) => {
  pgm.sql('DROP TABLE posts');
};
`;

describe('lab migrations: bad input', () => {
  afterAll(() => cleanupProjects());

  it('a migrate command that hangs is killed at its budget, the verdict says so, and the database is left clean', { timeout: 240_000 }, async () => {
    const lab = await loadLab('migrations');
    const dir = makeProject(lab, 'solution');
    writeFileSync(join(dir, 'migrations', '002_create-posts.js'), HANGING_002);

    // The engine's side: a lab of this test's own runs the command with a short budget and looks at the database.
    let seen: { result: CommandResult; backends: number; posts: boolean; locks: number } | undefined;
    const probe = defineLab(
      {
        ...lab,
        id: 'migrations',
        checks: [
          {
            id: 'hang',
            title: 'hang',
            hint: 'hang',
            timeoutMs: 40_000,
            async run(ctx) {
              // Started, then watched until its connection sits in pg_sleep (node-pg-migrate's start-up takes
              // seconds on a loaded machine): only then is the budget's kill a kill mid-statement.
              const pending = ctx.command('migrate', ['up'], { timeoutMs: 10_000 });
              let sleeping = false;
              while (!sleeping) {
                const { rows } = await ctx.db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'labs-command-%' AND query LIKE '%pg_sleep%' AND state = 'active'");
                sleeping = rows.length > 0;
                if (!sleeping) await ctx.sleep(50);
              }
              const result = await pending;
              const backends = (await ctx.db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'labs-command-%'")).rows[0].n;
              const posts = (await ctx.db.query("SELECT to_regclass('public.posts') IS NOT NULL AS t")).rows[0].t;
              const locks = (await ctx.db.query("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.datname = current_database() AND a.application_name <> 'backend-labs-grader' AND l.locktype IN ('relation', 'advisory')")).rows[0].n;
              seen = { result, backends, posts, locks };
            },
          },
        ],
      },
      lab.dir,
    );
    const run = await runLab({ lab: probe, dir, startCommand: 'npm start', all: true }).result;
    expect(run.status, explain(run)).toBe('pass');
    expect(seen!.result.timedOut).toBe(true);
    expect(seen!.result.exitCode).toBeNull();
    expect(seen!.result.ms).toBeGreaterThanOrEqual(10_000);
    expect(seen!.result.ms).toBeLessThan(30_000);
    expect(seen!.result.terminatedBackends, 'the backend still running pg_sleep was ended').toBeGreaterThanOrEqual(1);
    expect(seen!.backends, 'no connection of the command is left').toBe(0);
    expect(seen!.posts, 'the half-applied migration rolled back').toBe(false);
    expect(seen!.locks, 'no lock of the command is left').toBe(0);
    expect(seen!.result.output.join('\n')).toMatch(/Migrating files/);

    // The lab's verdict on the same project: killed at the budget, said in the learner's terms.
    const verdict = await grade(lab, dir, { only: ['up-from-empty'] });
    expect(verdict.status, explain(verdict)).toBe('fail');
    const failure = verdict.checks[0]!.failure!;
    expect(failure.message).toMatch(/did not finish within 30 s: it was killed \(its whole process group\)/);
    expect(failure.message).toMatch(/ended the 1 database connection/);
    expect(failure.transcript).toMatch(/\$ npm run migrate -- up/);
  });

  it('labs.json names the command: another runner is used when the project says so', { timeout: 240_000 }, async () => {
    const lab = await loadLab('migrations');
    const dir = makeProject(lab, 'solution');
    // A wrapper that logs, then runs the same tool: the grader must run what labs.json says.
    writeFileSync(join(dir, 'wrapped-migrate.sh'), '#!/bin/sh\necho "wrapped: $*"\nexec node_modules/.bin/node-pg-migrate --migrations-dir migrations --advisory-lock-mode wait "$@"\n', { mode: 0o755 });
    writeFileSync(join(dir, 'labs.json'), JSON.stringify({ lab: 'migrations', template: 'typescript', start: 'npm start', commands: { migrate: 'sh wrapped-migrate.sh' } }));
    const run = runLab({ lab, dir, startCommand: 'npm start', all: true, only: ['up-from-empty', 'up-again-noop'] });
    const shown: string[] = [];
    run.on((e) => {
      if (e.type === 'server-output') shown.push(e.line);
    });
    const result = await run.result;
    expect(result.status, explain(result)).toBe('pass');
    expect(shown.join('\n')).toMatch(/\[migrate\] wrapped: up/);
  });
});

describe('schema snapshots', () => {
  const base = (): SchemaSnapshot => ({
    tables: {
      users: {
        name: 'users',
        partitioned: false,
        columns: { id: { type: 'bigint', notNull: true, identity: 'by default' }, full_name: { type: 'text', notNull: true } },
        constraints: { users_pkey: { name: 'users_pkey', kind: 'primary key', definition: 'PRIMARY KEY (id)', columns: ['id'] } },
        indexes: { users_pkey: { name: 'users_pkey', definition: 'CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)', unique: true, primary: true } },
        triggers: {},
      },
    },
    views: {},
    sequences: { users_id_seq: 'users.id' },
    enums: {},
    functions: {},
  });

  it('diffs say what changed, one line each, and nothing for the same schema', () => {
    expect(diffSchemas(base(), base())).toEqual([]);
    const after = base();
    delete after.tables.users!.columns.full_name;
    after.tables.users!.columns.display_name = { type: 'text', notNull: false };
    after.tables.users!.columns.id = { type: 'integer', notNull: true, identity: 'by default' };
    after.functions['f()'] = 'returns trigger, plpgsql, body 0123456789ab';
    expect(diffSchemas(base(), after)).toEqual([
      'column users.display_name: added (text NULL)',
      'column users.full_name: removed (was text NOT NULL)',
      'column users.id: bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY -> integer NOT NULL GENERATED BY DEFAULT AS IDENTITY',
      'function f(): added (returns trigger, plpgsql, body 0123456789ab)',
    ]);
    expect(describeSchema(base())).toContain('table users');
  });

  it('a real schema: read from the catalogs, same whatever the order of creation, grader objects and extensions left out', { timeout: 120_000 }, async () => {
    let a: SchemaSnapshot | undefined;
    let b: SchemaSnapshot | undefined;
    const lab = await loadLab('migrations');
    const dir = makeProject(lab, 'starter');
    mkdirSync(join(dir, 'x'), { recursive: true });
    const probe = defineLab(
      {
        ...lab,
        checks: [
          {
            id: 'snap',
            title: 'snap',
            hint: 'snap',
            async run(ctx) {
              const ddl = [
                'CREATE TABLE t1 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL DEFAULT \'x\', CONSTRAINT t1_name_check CHECK (name <> \'\'))',
                'CREATE TABLE t2 (id serial PRIMARY KEY, t1_id bigint REFERENCES t1 (id) ON DELETE CASCADE, n int UNIQUE)',
                'CREATE INDEX t2_t1_idx ON t2 (t1_id) WHERE n > 0',
                "CREATE TYPE mood AS ENUM ('sad', 'ok')",
                'CREATE VIEW v AS SELECT id FROM t1',
              ];
              const schema = async () => schemaSnapshot(ctx.db);
              for (const s of ddl) await ctx.db.query(s);
              await ctx.db.query('CREATE TABLE labs_grader_mine (x int)');
              await ctx.db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
              a = await schema();
              await ctx.db.query('DROP VIEW v; DROP TABLE t2; DROP TABLE t1; DROP TYPE mood');
              for (const s of [ddl[3], ddl[0], ddl[4], ddl[1], ddl[2]]) await ctx.db.query(s!);
              b = await schema();
            },
          },
        ],
      },
      lab.dir,
    );
    const run = await runLab({ lab: probe, dir, startCommand: 'npm start', all: true }).result;
    expect(run.status, explain(run)).toBe('pass');
    expect(diffSchemas(a!, b!)).toEqual([]);
    expect(Object.keys(a!.tables).sort()).toEqual(['t1', 't2']);
    expect(a!.tables.t2!.constraints.t2_t1_id_fkey!.definition).toBe('FOREIGN KEY (t1_id) REFERENCES t1(id) ON DELETE CASCADE');
    expect(a!.tables.t2!.indexes.t2_t1_idx!.definition).toMatch(/WHERE \(n > 0\)/);
    expect(a!.tables.t1!.columns.name).toEqual({ type: 'text', notNull: true, default: "'x'::text" });
    expect(a!.sequences).toEqual({ t1_id_seq: 't1.id', t2_id_seq: 't2.id' });
    expect(a!.enums).toEqual({ mood: ['sad', 'ok'] });
    expect(Object.keys(a!.views)).toEqual(['v']);
    expect(Object.keys(a!.functions), 'pg_stat_statements functions are the extension\'s').toEqual([]);
  });
});
