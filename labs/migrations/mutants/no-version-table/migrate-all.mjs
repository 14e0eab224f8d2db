// Runs the migration files in order, each in a transaction, with no bookkeeping: `up [N]` runs the first N (all),
// `down` reverts the last file.
import { readdirSync } from 'node:fs';
import pg from 'pg';

const [direction = 'up', n] = process.argv.slice(2);
const files = readdirSync(new URL('./migrations/', import.meta.url)).filter((f) => f.endsWith('.js')).sort();
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const pgm = { statements: [], sql(s) { this.statements.push(s); }, noTransaction() {}, db: { select: async (q) => (await client.query(q)).rows } };
try {
  const chosen = direction === 'up' ? files.slice(0, n ? Number(n) : files.length) : files.slice(-1);
  for (const f of chosen) {
    const m = await import(new URL(`./migrations/${f}`, import.meta.url));
    pgm.statements = [];
    await m[direction](pgm);
    await client.query('BEGIN');
    for (const s of pgm.statements) await client.query(s);
    await client.query('COMMIT');
    console.log(`${direction} ${f}`);
  }
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
} finally {
  await client.end();
}
