// Shared by the API and the worker: the pool and the jobs table.
import pg from 'pg';

export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 });

const SCHEMA = `CREATE TABLE IF NOT EXISTS reports (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  n            integer NOT NULL,
  status       text NOT NULL DEFAULT 'pending',   -- pending | running | done | failed
  attempts     integer NOT NULL DEFAULT 0,
  result       double precision,
  error        text,
  run_after    timestamptz NOT NULL DEFAULT now(), -- retries wait until then
  locked_until timestamptz,                        -- a running job whose lease ran out is taken again
  created_at   timestamptz NOT NULL DEFAULT now()
)`;

/** Both processes start at once: the second CREATE TABLE IF NOT EXISTS may collide with the first; try again. */
export async function ensureSchema(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query(SCHEMA);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}
