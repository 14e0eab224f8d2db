// A second correct answer, written from the README alone. Another queue strategy than polling with
// FOR UPDATE SKIP LOCKED: the API NOTIFYs the worker of every new job, the worker sleeps until a
// notification or until the earliest moment a job becomes due (a retry's time, a lease running out), and
// claims with a compare-and-set UPDATE (it wins the job only if the row is still claimable; a concurrent
// worker that loses the race updates 0 rows and looks again). On SIGTERM it hands the job back.
import pg from 'pg';

export const CHANNEL = 'jobs_ready';

export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });

const DDL = `CREATE TABLE IF NOT EXISTS jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  n int NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  tries int NOT NULL DEFAULT 0,
  value double precision,
  last_error text,
  available_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  lease_expires_at timestamptz
)`;

export async function migrate(): Promise<void> {
  // Both processes run this at once: a unique violation on the catalog means the other one won.
  for (let i = 0; i < 5; i++) {
    try {
      await pool.query(DDL);
      return;
    } catch (err) {
      if (i === 4) throw err;
      await new Promise((r) => setTimeout(r, 50 + 100 * i));
    }
  }
}
