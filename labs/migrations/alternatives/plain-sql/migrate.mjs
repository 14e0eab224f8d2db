// A migration runner in one file, on `pg` alone: migrations/NNN_name.up.sql and NNN_name.down.sql, applied in
// order, each in a transaction with the row that records it in schema_migrations, under an advisory lock that a
// second run waits for.
//   node migrate.mjs up [N]    apply every pending migration (or the next N)
//   node migrate.mjs down      revert the last applied one
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

const LOCK_KEY = 28_0001; // any constant, the same for every run of this app
const dir = new URL('./migrations/', import.meta.url);
const [command = 'up', countArg] = process.argv.slice(2);
const count = countArg === undefined ? Infinity : Number(countArg);
if (!['up', 'down'].includes(command) || !(count > 0)) {
  console.error('usage: migrate.mjs up [N] | down');
  process.exit(2);
}

const versions = readdirSync(dir)
  .filter((f) => f.endsWith('.up.sql'))
  .map((f) => f.slice(0, -'.up.sql'.length))
  .sort();
const read = (version, direction) => readFileSync(new URL(`${version}.${direction}.sql`, dir), 'utf8');

// PGAPPNAME, when set, names the connection (pg reads it like libpq does).
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
try {
  // Waits while another run holds it; taken before reading what is applied, so two runs never both see a
  // migration as pending.
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
  const steps =
    command === 'up'
      ? versions.filter((v) => !applied.has(v)).slice(0, count)
      : [...applied].sort().slice(-1);
  if (steps.length === 0) console.log('nothing to do');
  for (const version of steps) {
    const sql = read(version, command);
    await client.query('BEGIN');
    try {
      await client.query(sql);
      if (command === 'up') await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      else await client.query('DELETE FROM schema_migrations WHERE version = $1', [version]);
      await client.query('COMMIT');
      console.log(`${command} ${version}`);
    } catch (err) {
      await client.query('ROLLBACK');
      throw new Error(`${command} ${version} failed, rolled back: ${err.message}`);
    }
  }
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
} finally {
  await client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
  await client.end();
}
