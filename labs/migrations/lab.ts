import {
  CheckFailure,
  defineLab,
  describeCommand,
  describeSchema,
  diffSchemas,
  GRADER_OBJECT_PREFIX,
  HARD,
  schemaSnapshot,
  show,
  type CheckContext,
  type CommandResult,
  type SchemaSnapshot,
  type SchemaTable,
  withoutTables,
} from '../../grader/index.ts';

// The learner writes four versioned migrations and names the command that runs them (labs.json
// "commands.migrate"). The grader runs that command (`up`, `up 1`, `down`) against the run's database and judges
// what the database looks like afterwards (schema snapshots from the catalogs) and what still works on it (the
// previous and next app versions' SQL, run by the grader). It never reads the migration files.

/** Budget of one migrate command: the migrations are small; a command still running then is killed. */
export const COMMAND_BUDGET_MS = 30_000;
/** How long the concurrency check waits for both runs to block before it releases them anyway. */
const BLOCK_WAIT_MS = 20_000;

// --- the app's SQL, per version -------------------------------------------------------------------------
// v1: the previous version of the app (before the rename); v2: the next one (after it).
const V1 = {
  insert: 'INSERT INTO users (email, full_name) VALUES ($1, $2) RETURNING id',
  select: 'SELECT id, email, full_name FROM users WHERE id = $1',
  update: 'UPDATE users SET full_name = $2 WHERE id = $1',
};
const V2 = {
  insert: 'INSERT INTO users (email, display_name) VALUES ($1, $2) RETURNING id',
  select: 'SELECT id, email, display_name FROM users WHERE id = $1',
  update: 'UPDATE users SET display_name = $2 WHERE id = $1',
};
const POST_INSERT = 'INSERT INTO posts (user_id, title, body) VALUES ($1, $2, $3) RETURNING id';

// --- running the learner's command ----------------------------------------------------------------------

async function migrate(ctx: CheckContext, args: string[], log: CommandResult[]): Promise<CommandResult> {
  ctx.note(`migrate ${args.join(' ')}`);
  const r = await ctx.command('migrate', args, { timeoutMs: COMMAND_BUDGET_MS });
  log.push(r);
  return r;
}

function transcript(log: CommandResult[]): string {
  return log.map((r) => describeCommand(r)).join('\n\n');
}

function failCommand(ctx: CheckContext, r: CommandResult, log: CommandResult[], what: string): never {
  const cleaned = r.terminatedBackends ? ` The grader ended the ${r.terminatedBackends} database connection(s) it left open, so its transaction rolled back.` : '';
  throw new CheckFailure({
    message: r.timedOut
      ? `\`${r.command}\` (${what}) did not finish within ${COMMAND_BUDGET_MS / 1000} s: it was killed (its whole process group).${cleaned} A migrate command must exit when it is done: close its database connections (pool.end()) and do not wait for anything else.`
      : `\`${r.command}\` (${what}) exited with code ${r.exitCode ?? `signal ${r.signal}`}; it must exit 0.`,
    expected: `exit code 0 (${what})`,
    received: r.timedOut ? 'still running at the budget: killed' : `exit code ${r.exitCode}`,
    transcript: transcript(log),
    transcriptTitle: 'Commands the grader ran, with their output',
    reproduce: `DATABASE_URL=${ctx.env.DATABASE_URL} ${r.command}`,
  });
}

async function migrateOk(ctx: CheckContext, args: string[], log: CommandResult[], what: string): Promise<CommandResult> {
  const r = await migrate(ctx, args, log);
  if (r.exitCode !== 0) failCommand(ctx, r, log, what);
  return r;
}

// --- the database ---------------------------------------------------------------------------------------

/** The run's database back to empty: every schema of the learner's dropped (bookkeeping included), `public` again. */
async function resetDatabase(ctx: CheckContext): Promise<void> {
  const { rows } = await ctx.db.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'`,
  );
  for (const { nspname } of rows) await ctx.db.query(`DROP SCHEMA ${quoteIdent(nspname)} CASCADE`);
  await ctx.db.query('CREATE SCHEMA public');
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function snapshot(ctx: CheckContext): Promise<SchemaSnapshot> {
  return schemaSnapshot(ctx.db);
}

/** SQL the grader runs as an app would; a failure caused by the learner's schema is theirs, with the SQL shown. */
async function sql<R extends Record<string, unknown>>(ctx: CheckContext, text: string, params: unknown[], why: string, log: CommandResult[] = []): Promise<R[]> {
  try {
    return (await ctx.db.query<R>(text, params)).rows;
  } catch (err) {
    const e = err as { message?: string; code?: string };
    throw new CheckFailure({
      message: `${why}: PostgreSQL refused it: ${e.message ?? String(err)}${e.code ? ` (SQLSTATE ${e.code})` : ''}.`,
      expected: 'the statement to succeed on the migrated schema',
      received: `${text}\n  with ${show(params)}\n  -> ${e.message ?? String(err)}`,
      transcript: log.length ? transcript(log) : undefined,
      transcriptTitle: log.length ? 'Commands the grader ran, with their output' : undefined,
    });
  }
}

/** The SQLSTATE a statement fails with, or undefined when it succeeds (always rolled back). */
async function sqlState(ctx: CheckContext, text: string, params: unknown[]): Promise<string | undefined> {
  const client = await ctx.db.connect();
  try {
    await client.query('BEGIN');
    await client.query(text, params);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

// --- the documented schema ------------------------------------------------------------------------------

type Step = 0 | 1 | 2 | 3 | 4;
const INTEGER_TYPES = ['bigint', 'integer'];
const TEXT_TYPES = (t: string) => t === 'text' || t.startsWith('character varying');

/** What differs from the README's table for step `step` (only `users` and `posts` are looked at). */
function shapeProblems(s: SchemaSnapshot, step: Step): string[] {
  const out: string[] = [];
  const users = s.tables.users;
  const posts = s.tables.posts;
  if (step === 0) {
    if (users) out.push('table users exists (no migration is applied)');
    if (posts) out.push('table posts exists (no migration is applied)');
    return out;
  }
  if (!users) return ['table users is missing'];
  const col = (t: SchemaTable, name: string, types: (type: string) => boolean, typeText: string, notNull: boolean) => {
    const c = t.columns[name];
    if (!c) return out.push(`column ${t.name}.${name} is missing`);
    if (!types(c.type)) out.push(`column ${t.name}.${name} is ${c.type}, expected ${typeText}`);
    if (c.notNull !== notNull) out.push(`column ${t.name}.${name} is ${c.notNull ? 'NOT NULL' : 'nullable'}, expected ${notNull ? 'NOT NULL' : 'nullable'}`);
  };
  const idColumn = (t: SchemaTable) => {
    col(t, 'id', (x) => INTEGER_TYPES.includes(x), 'bigint', true);
    const c = t.columns.id;
    if (c && !c.identity && !/^nextval\(/.test(c.default ?? '')) out.push(`column ${t.name}.id has no generated value (identity or serial)`);
    const pk = Object.values(t.constraints).find((k) => k.kind === 'primary key');
    if (!pk || pk.columns.join(',') !== 'id') out.push(`table ${t.name} has no PRIMARY KEY (id)`);
  };
  idColumn(users);
  col(users, 'email', TEXT_TYPES, 'text', true);
  const uniqueEmail =
    Object.values(users.constraints).some((k) => k.kind === 'unique' && k.columns.join(',') === 'email') ||
    Object.values(users.indexes).some((i) => i.unique && /\(email\)$/.test(i.definition));
  if (!uniqueEmail) out.push('users.email is not UNIQUE');
  col(users, 'created_at', (x) => x === 'timestamp with time zone', 'timestamptz', true);
  if (users.columns.created_at && !/now\(\)|CURRENT_TIMESTAMP|transaction_timestamp\(\)/i.test(users.columns.created_at.default ?? '')) out.push('users.created_at has no DEFAULT now()');
  if (step <= 3) col(users, 'full_name', TEXT_TYPES, 'text', true);
  else if (users.columns.full_name) out.push('column users.full_name still exists (the contract step drops it)');
  if (step === 3) col(users, 'display_name', TEXT_TYPES, 'text', false);
  else if (step === 4) col(users, 'display_name', TEXT_TYPES, 'text', true);
  else if (users.columns.display_name) out.push(`column users.display_name exists at step ${step} (it comes with migration 3)`);
  if (step === 1) {
    if (posts) out.push('table posts exists at step 1 (it comes with migration 2)');
    return out;
  }
  if (!posts) return [...out, 'table posts is missing'];
  idColumn(posts);
  col(posts, 'user_id', (x) => INTEGER_TYPES.includes(x), 'bigint', true);
  col(posts, 'title', TEXT_TYPES, 'text', true);
  col(posts, 'body', TEXT_TYPES, 'text', true);
  if (posts.columns.body && !/^''/.test(posts.columns.body.default ?? '')) out.push(`posts.body has no DEFAULT '' (has ${posts.columns.body.default ?? 'none'})`);
  const fk = Object.values(posts.constraints).find((k) => k.kind === 'foreign key' && k.columns.join(',') === 'user_id');
  if (!fk) out.push('posts.user_id has no FOREIGN KEY to users(id)');
  else {
    if (!/REFERENCES (public\.)?users\s*\(id\)/.test(fk.definition)) out.push(`posts.user_id's foreign key is ${fk.definition}, expected REFERENCES users(id)`);
    if (!/ON DELETE CASCADE/.test(fk.definition)) out.push(`posts.user_id's foreign key is ${fk.definition}, expected ON DELETE CASCADE`);
  }
  if (!Object.values(posts.constraints).some((k) => k.kind === 'check' && k.columns.includes('title'))) out.push('posts.title has no CHECK constraint');
  const idx = posts.indexes.posts_user_id_idx;
  if (!idx) out.push('index posts_user_id_idx is missing');
  else if (!/\(user_id\)$/.test(idx.definition)) out.push(`index posts_user_id_idx is ${idx.definition}, expected ON posts (user_id)`);
  return out;
}

function expectShape(s: SchemaSnapshot, step: Step, message: string, log: CommandResult[]): void {
  const problems = shapeProblems(s, step);
  if (problems.length === 0) return;
  throw new CheckFailure({
    message: `${message}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}.`,
    expected: `the schema of step ${step} in the README's table`,
    received: `${problems.join('\n')}\n\nThe schema the grader read:\n${describeSchema(s)}`,
    transcript: transcript(log),
    transcriptTitle: 'Commands the grader ran, with their output',
  });
}

function expectSameSchema(before: SchemaSnapshot, after: SchemaSnapshot, message: string, log: CommandResult[]): void {
  const diff = diffSchemas(before, after);
  if (diff.length === 0) return;
  throw new CheckFailure({
    message: `${message}: ${diff[0]}${diff.length > 1 ? ` (and ${diff.length - 1} more differences)` : ''}.`,
    expected: 'the same schema (tables, columns, types, defaults, constraints, indexes, triggers, functions)',
    received: diff.join('\n'),
    transcript: transcript(log),
    transcriptTitle: 'Commands the grader ran, with their output',
  });
}

// --- inputs ---------------------------------------------------------------------------------------------

/** Names an app stores: SQL in strings, quotes, Unicode, empty, long. They must come back byte for byte. */
function names(ctx: CheckContext, n: number): string[] {
  const hard = [...HARD.injection, "O'Brien", 'Zoë "the" 🚀', '日本語テキスト', '', '$$; DROP TABLE users; $$', 'a\\b', 'x'.repeat(5000)];
  const out = ctx.random.shuffle(hard).slice(0, Math.min(n, hard.length));
  while (out.length < n) out.push(`${ctx.random.pick(['Ada', 'Grace', 'Linus', 'Barbara'])} ${ctx.random.int(1, 1e6)}`);
  return out;
}

const email = (ctx: CheckContext, tag: string) => `${tag}-${ctx.random.int(1, 1e9)}@example.com`;

// --- checks ---------------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'migrations',
    title: 'Versioned migrations: up, down, locks and a zero-downtime rename',
    track: 'data',
    summary: 'Four versioned migrations run by your own command: up on an empty database, a no-op when repeated, reversible step by step, all-or-nothing, safe when two deploys run them at once, and a column rename done as expand/contract without breaking the running app.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [28],
    services: ['postgres'],
    commands: {
      migrate: { description: 'runs your migrations: `up` (all pending), `up N` (the next N), `down` (the last applied one)', start: 'npm run migrate' },
    },
    checks: [
      {
        id: 'up-from-empty',
        title: '`migrate up` on an empty database creates the documented schema',
        hint: 'Your migrate command must apply every pending migration in order and exit 0; compare your tables with the README (names, types, NOT NULL, defaults, keys, the index).',
        timeoutMs: 60_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          await resetDatabase(ctx);
          await migrateOk(ctx, ['up'], log, 'every migration on an empty database');
          const s = await snapshot(ctx);
          expectShape(s, 4, 'After `migrate up` on an empty database the schema is not the documented one', log);
          // The constraints behave: unique email, FK, the title CHECK, cascade.
          const mail = email(ctx, 'up');
          const [u] = await sql<{ id: string }>(ctx, V2.insert, [mail, 'First User'], 'Inserting a user (the app after the rename)', log);
          const dup = await sqlState(ctx, V2.insert, [mail, 'Second']);
          if (dup !== '23505') ctx.fail({ message: `A second user with the same email must be refused (unique_violation, 23505), got ${dup ?? 'success'}.`, expected: 'SQLSTATE 23505', received: dup ?? 'the row was inserted', transcript: transcript(log) });
          const orphan = await sqlState(ctx, POST_INSERT, [Number(u!.id) + 1_000_000, 'title', '']);
          if (orphan !== '23503') ctx.fail({ message: `A post of a user that does not exist must be refused (foreign_key_violation, 23503), got ${orphan ?? 'success'}.`, expected: 'SQLSTATE 23503', received: orphan ?? 'the row was inserted', transcript: transcript(log) });
          for (const [title, ok] of [['', false], ['t'.repeat(200), true], ['t'.repeat(201), false], ["'; DROP TABLE posts; --", true]] as const) {
            const state = await sqlState(ctx, POST_INSERT, [u!.id, title, 'body']);
            if (ok ? state !== undefined : state !== '23514') {
              ctx.fail({ message: `A post title of ${title.length} characters must be ${ok ? 'accepted' : 'refused by the CHECK constraint (check_violation, 23514)'}, got ${state ?? 'success'}.`, expected: ok ? 'success' : 'SQLSTATE 23514', received: state ?? 'the row was inserted', transcript: transcript(log) });
            }
          }
          await sql(ctx, POST_INSERT, [u!.id, 'kept', 'body'], 'Inserting a post', log);
          await sql(ctx, 'DELETE FROM users WHERE id = $1', [u!.id], 'Deleting a user', log);
          const left = await sql<{ n: number }>(ctx, 'SELECT count(*)::int AS n FROM posts WHERE user_id = $1', [u!.id], 'Counting posts', log);
          if (left[0]!.n !== 0) ctx.fail({ message: 'Deleting a user must delete their posts (ON DELETE CASCADE).', expected: '0 posts left', received: `${left[0]!.n} posts left`, transcript: transcript(log) });
        },
      },
      {
        id: 'up-again-noop',
        title: '`migrate up` again changes nothing: same schema, same rows',
        hint: 'Record each applied migration in a table in the same database and skip recorded ones; a second `up` must find nothing to do and exit 0.',
        timeoutMs: 60_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          // After up-from-empty the database is at the last step already: one command less per run.
          let before = await snapshot(ctx);
          if (shapeProblems(before, 4).length > 0) {
            await resetDatabase(ctx);
            await migrateOk(ctx, ['up'], log, 'every migration on an empty database');
            before = await snapshot(ctx);
          }
          const rows = names(ctx, 4);
          const ids: string[] = [];
          for (const name of rows) ids.push((await sql<{ id: string }>(ctx, V2.insert, [email(ctx, 'again'), name], 'Inserting a user', log))[0]!.id);
          await migrateOk(ctx, ['up'], log, 'a second `up` with nothing pending');
          expectSameSchema(before, await snapshot(ctx), 'A second `migrate up` changed the schema', log);
          for (const [i, id] of ids.entries()) {
            const got = await sql<{ display_name: string }>(ctx, V2.select, [id], 'Reading a user back', log);
            if (got[0]?.display_name !== rows[i]) {
              ctx.fail({ message: 'A second `migrate up` changed the data: a user written before it reads back differently.', expected: show(rows[i]), received: show(got[0]?.display_name ?? '(row gone)'), transcript: transcript(log) });
            }
          }
        },
      },
      {
        id: 'down-restores',
        // Nine commands: minutes on a machine under heavy load, a few seconds otherwise.
        title: '`migrate down` restores exactly the schema before the last migration, step by step',
        hint: 'Each migration needs a down that undoes exactly its up (and only it), and the runner must forget the migration it reverted so the next `up 1` applies it again.',
        timeoutMs: 180_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          await resetDatabase(ctx);
          const ups: SchemaSnapshot[] = [await snapshot(ctx)];
          for (let step = 1; step <= 4; step++) {
            await migrateOk(ctx, ['up', '1'], log, `\`up 1\`: migration ${step} alone`);
            const s = await snapshot(ctx);
            if (step === 1 || step === 2 || step === 4) expectShape(s, step as Step, `After \`up 1\` ${step} time(s) the schema is not the documented step ${step}`, log);
            ups.push(s);
          }
          // The runner's bookkeeping (tables besides users and posts) appeared with the first `up`: at step 0 on the
          // way down it is still there, and rightly so.
          const bookkeeping = new Set(Object.keys(ups[4]!.tables).filter((t) => t !== 'users' && t !== 'posts'));
          for (let step = 4; step >= 1; step--) {
            await migrateOk(ctx, ['down'], log, `\`down\`: reverting migration ${step}`);
            const s = step === 1 ? withoutTables(await snapshot(ctx), (t) => bookkeeping.has(t)) : await snapshot(ctx);
            expectSameSchema(ups[step - 1]!, s, `After \`migrate down\` (reverting migration ${step}) the schema is not the one before migration ${step} was applied`, log);
          }
        },
      },
      {
        id: 'failed-migration-atomic',
        title: 'A migration that fails half-way leaves no partial change and is retried',
        hint: 'Run each migration (with the row that records it) in one transaction, so an error rolls everything of it back; PostgreSQL runs DDL in transactions.',
        timeoutMs: 60_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          await resetDatabase(ctx);
          // The index of migration 2 cannot be created: its name is taken. CREATE TABLE posts (before it) succeeds.
          const blocker = `${GRADER_OBJECT_PREFIX}blocker`;
          await ctx.db.query(`CREATE TABLE ${blocker} (x int)`);
          await ctx.db.query(`CREATE INDEX posts_user_id_idx ON ${blocker} (x)`);
          const r = await migrate(ctx, ['up'], log);
          if (r.timedOut) failCommand(ctx, r, log, 'every migration, with migration 2 bound to fail');
          if (r.exitCode === 0) {
            ctx.fail({
              message: '`migrate up` exited 0 although migration 2 failed (the grader had taken the name `posts_user_id_idx`, so its CREATE INDEX errors). A failed migration must make the command exit non-zero.',
              expected: 'a non-zero exit code',
              received: 'exit code 0',
              transcript: transcript(log),
            });
          }
          const s = await snapshot(ctx);
          const at0 = shapeProblems(s, 0).length === 0;
          const at1 = shapeProblems(s, 1).length === 0;
          if (!at0 && !at1) {
            throw new CheckFailure({
              message: s.tables.posts
                ? 'Migration 2 failed at its CREATE INDEX, but its CREATE TABLE posts stayed: the migration was not run in a transaction (partial DDL).'
                : 'After migration 2 failed, the schema is neither the one before any migration nor the one after migration 1.',
              expected: 'the schema of step 1 (or step 0, if all pending migrations ran in one transaction)',
              received: describeSchema(s),
              transcript: transcript(log),
              transcriptTitle: 'Commands the grader ran, with their output',
            });
          }
          await ctx.db.query(`DROP TABLE ${blocker}`);
          await migrateOk(ctx, ['up'], log, 'every migration again, once the name is free');
          expectShape(await snapshot(ctx), 4, 'After the failed migration was retried, the schema is not the documented one (was the failed migration recorded as applied?)', log);
        },
      },
      {
        id: 'concurrent-runs',
        title: 'Two `migrate up` at the same moment: one applies, the other waits, both exit 0',
        hint: 'Take a lock for the whole run before reading which migrations are applied (pg_advisory_lock, which waits) and release it at the end; a second run then finds nothing to do.',
        timeoutMs: 120_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          await resetDatabase(ctx);
          await migrateOk(ctx, ['up', '1'], log, 'migration 1 alone');
          // The grader holds `users` locked: migration 2 (its foreign key needs that table) blocks in whichever run
          // gets there. Both runs are started; once both are blocked (or one has finished), the lock goes.
          const holder = await ctx.db.connect();
          const seen: string[] = [];
          let overlapping = false;
          let results: CommandResult[];
          try {
            await holder.query('BEGIN');
            await holder.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
            const runs = [migrate(ctx, ['up'], log), migrate(ctx, ['up'], log)];
            let finished = 0;
            for (const p of runs) void p.then(() => finished++);
            const started = performance.now();
            while (performance.now() - started < BLOCK_WAIT_MS && finished === 0) {
              const { rows } = await ctx.db.query<{ app: string; wait: string; state: string; query: string }>(
                `SELECT a.application_name AS app, coalesce(l.locktype, '') AS wait, a.state, a.query
                   FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
                  WHERE a.datname = current_database() AND a.application_name LIKE 'labs-command-migrate-%' AND a.wait_event_type = 'Lock'`,
              );
              const waiting = rows.filter((r) => r.wait);
              // Inside migration 2: blocked in a statement on posts (CREATE TABLE posts needs the users table the
              // grader holds, or waits for another run's uncommitted posts). A run waiting for the runner's own lock
              // (advisory, a lock table, a lock row) is blocked in a statement that does not name posts.
              const inMigration = waiting.filter((r) => r.wait !== 'advisory' && /\bposts\b/i.test(r.query ?? ''));
              if (inMigration.length >= 2) overlapping = true;
              const desc = waiting.map((r) => `${r.app}: waiting on a ${r.wait} lock in: ${(r.query ?? '').replace(/\s+/g, ' ').slice(0, 80)}`).sort().join('; ');
              if (desc && seen.at(-1) !== desc) seen.push(desc);
              if (waiting.length >= 2) break;
              await ctx.sleep(50);
            }
            await holder.query('COMMIT');
            results = await Promise.all(runs);
          } finally {
            await holder.query('ROLLBACK').catch(() => {});
            holder.release();
          }
          const [a, b] = results!;
          if (overlapping) {
            ctx.fail({
              message: 'Both runs were applying migration 2 at the same moment (both were waiting inside it, for the table `users` the grader held): nothing kept the second run out while the first applied.',
              expected: 'one run applying, the other waiting for a lock taken before it reads which migrations are applied',
              received: seen.join('\n'),
              transcript: transcript(log),
              transcriptTitle: 'Commands the grader ran, with their output',
            });
          }
          for (const r of [a!, b!]) {
            if (r.exitCode !== 0) {
              const r2 = r;
              throw new CheckFailure({
                message: `One of two concurrent \`migrate up\` runs exited with ${r2.timedOut ? 'a timeout' : `code ${r2.exitCode}`}: a run that finds another one applying must wait for it (then find nothing left to do and exit 0), not fail.`,
                expected: 'both runs exit 0',
                received: `${a!.exitCode ?? 'killed'} and ${b!.exitCode ?? 'killed'}${seen.length ? `\nwhat the grader saw: ${seen.join('; ')}` : ''}`,
                transcript: transcript(log),
                transcriptTitle: 'Commands the grader ran, with their output',
              });
            }
          }
          expectShape(await snapshot(ctx), 4, 'After two concurrent `migrate up` runs the schema is not the documented one', log);
        },
      },
      {
        id: 'expand-keeps-old-version',
        title: 'Expand step (migration 3): the previous app version still works, and both versions see each other\'s writes',
        hint: 'Migration 3 adds display_name next to full_name (do not rename yet), copies every full_name into it, and keeps the two equal on every insert and update (a trigger), whichever of them the app writes.',
        timeoutMs: 60_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          await resetDatabase(ctx);
          await migrateOk(ctx, ['up', '2'], log, 'migrations 1 and 2');
          expectShape(await snapshot(ctx), 2, 'After `migrate up 2` the schema is not the documented step 2', log);
          const written = names(ctx, 8);
          const ids: string[] = [];
          for (const name of written) {
            const [row] = await sql<{ id: string }>(ctx, V1.insert, [email(ctx, 'v1'), name], 'The previous app version inserting a user before the expand step', log);
            ids.push(row!.id);
            await sql(ctx, POST_INSERT, [row!.id, 'hello', name], 'The previous app version inserting a post', log);
          }
          await migrateOk(ctx, ['up', '1'], log, 'migration 3 (expand)');
          const s = await snapshot(ctx);
          expectShape(s, 3, 'At the expand step (after migration 3) the schema is not the documented one', log);
          // The backfill: every existing row's display_name is its full_name, byte for byte.
          for (const [i, id] of ids.entries()) {
            const [row] = await sql<{ display_name: string | null }>(ctx, V2.select, [id], 'The next app version reading a user', log);
            if (row?.display_name !== written[i]) {
              ctx.fail({
                message: `After migration 3, an existing user's display_name is not their full_name: the backfill ${row?.display_name === null ? 'did not fill it' : 'changed the text'} (names are data: SQL in them must not be run or re-quoted).`,
                expected: show(written[i]),
                received: show(row?.display_name),
                transcript: transcript(log),
              });
            }
          }
          // The previous version's queries, unchanged, on the expanded schema; the next version sees its writes.
          const oldName = names(ctx, 1)[0]!;
          const [v1row] = await sql<{ id: string }>(ctx, V1.insert, [email(ctx, 'v1b'), oldName], 'The previous app version inserting a user at the expand step', log);
          const [v1read] = await sql<{ full_name: string }>(ctx, V1.select, [v1row!.id], 'The previous app version reading a user at the expand step', log);
          const [v2sees] = await sql<{ display_name: string | null }>(ctx, V2.select, [v1row!.id], 'The next app version reading a user the previous one wrote', log);
          if (v1read?.full_name !== oldName || v2sees?.display_name !== oldName) {
            ctx.fail({ message: 'At the expand step, a user inserted by the previous app version (full_name) must read back with that name through display_name too.', expected: `full_name = display_name = ${show(oldName)}`, received: `full_name = ${show(v1read?.full_name)}, display_name = ${show(v2sees?.display_name)}`, transcript: transcript(log) });
          }
          const renamed = `${oldName.slice(0, 20)} (renamed)`;
          await sql(ctx, V1.update, [v1row!.id, renamed], 'The previous app version updating a name at the expand step', log);
          const [afterV1Update] = await sql<{ display_name: string | null }>(ctx, V2.select, [v1row!.id], 'The next app version reading a user', log);
          if (afterV1Update?.display_name !== renamed) {
            ctx.fail({ message: 'At the expand step, the previous app version updated full_name, but display_name did not follow: the next version would show the old name.', expected: show(renamed), received: show(afterV1Update?.display_name), transcript: transcript(log) });
          }
          const newName = names(ctx, 1)[0]!;
          const [v2row] = await sql<{ id: string }>(ctx, V2.insert, [email(ctx, 'v2'), newName], 'The next app version inserting a user with display_name only, at the expand step', log);
          const [v1sees] = await sql<{ full_name: string }>(ctx, V1.select, [v2row!.id], 'The previous app version reading a user the next one wrote', log);
          if (v1sees?.full_name !== newName) {
            ctx.fail({ message: 'At the expand step, a user inserted by the next app version (display_name only) must read back through full_name for the previous version.', expected: show(newName), received: show(v1sees?.full_name), transcript: transcript(log) });
          }
          await sql(ctx, V2.update, [v2row!.id, `${newName.slice(0, 20)} v2`], 'The next app version updating display_name', log);
          const [v1after] = await sql<{ full_name: string }>(ctx, V1.select, [v2row!.id], 'The previous app version reading a user', log);
          if (v1after?.full_name !== `${newName.slice(0, 20)} v2`) {
            ctx.fail({ message: 'At the expand step, the next app version updated display_name, but full_name did not follow: the previous version would show the old name.', expected: show(`${newName.slice(0, 20)} v2`), received: show(v1after?.full_name), transcript: transcript(log) });
          }
          const posts = await sql<{ n: number }>(ctx, 'SELECT count(*)::int AS n FROM posts', [], 'Counting posts', log);
          if (posts[0]!.n !== written.length) ctx.fail({ message: 'Posts written before the expand step are gone after it.', expected: `${written.length} posts`, received: `${posts[0]!.n}`, transcript: transcript(log) });
        },
      },
      {
        id: 'contract-keeps-data',
        title: 'Contract step (migration 4) keeps every name, and its down brings full_name back filled',
        hint: 'Migration 4 drops full_name only after display_name holds every name (then SET NOT NULL); its down adds full_name back, fills it from display_name and restores the sync.',
        timeoutMs: 90_000,
        async run(ctx) {
          const log: CommandResult[] = [];
          await resetDatabase(ctx);
          await migrateOk(ctx, ['up', '3'], log, 'migrations 1 to 3');
          const written = names(ctx, 6);
          const ids: string[] = [];
          for (const [i, name] of written.entries()) {
            const q = i % 2 === 0 ? V1.insert : V2.insert;
            ids.push((await sql<{ id: string }>(ctx, q, [email(ctx, 'c'), name], `The ${i % 2 === 0 ? 'previous' : 'next'} app version inserting a user at the expand step`, log))[0]!.id);
          }
          await migrateOk(ctx, ['up'], log, 'migration 4 (contract)');
          expectShape(await snapshot(ctx), 4, 'After migration 4 the schema is not the documented final one', log);
          for (const [i, id] of ids.entries()) {
            const [row] = await sql<{ display_name: string }>(ctx, V2.select, [id], 'The next app version reading a user after the contract step', log);
            if (row?.display_name !== written[i]) ctx.fail({ message: 'After migration 4 a user\'s display_name is not the name written at the expand step.', expected: show(written[i]), received: show(row?.display_name), transcript: transcript(log) });
          }
          const nullName = await sqlState(ctx, 'INSERT INTO users (email) VALUES ($1)', [email(ctx, 'null')]);
          if (nullName !== '23502') ctx.fail({ message: 'After migration 4, a user without display_name must be refused (display_name NOT NULL, not_null_violation 23502).', expected: 'SQLSTATE 23502', received: nullName ?? 'the row was inserted', transcript: transcript(log) });
          await migrateOk(ctx, ['down'], log, 'reverting migration 4');
          expectShape(await snapshot(ctx), 3, 'After reverting migration 4 the schema is not the expand step', log);
          for (const [i, id] of ids.entries()) {
            const [row] = await sql<{ full_name: string }>(ctx, V1.select, [id], 'The previous app version reading a user after migration 4 was reverted', log);
            if (row?.full_name !== written[i]) ctx.fail({ message: 'After reverting migration 4, full_name must be back with every user\'s name (filled from display_name): the previous app version reads it.', expected: show(written[i]), received: show(row?.full_name), transcript: transcript(log) });
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
