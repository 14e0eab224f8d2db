import pg from 'pg';
import { CHANNEL, migrate, pool } from './schema.ts';

await migrate();
const dependency = process.env.DEPENDENCY_URL!;
const retryBaseMs = Number(process.env.RETRY_BASE_MS ?? 1000);
const maxAttempts = Number(process.env.MAX_ATTEMPTS ?? 5);
const leaseMs = Number(process.env.LEASE_MS ?? 30_000);

let stopping = false;
let current: { id: string; abort: AbortController } | undefined;
let wake: () => void = () => {};

// A connection of its own for LISTEN (a pooled one could be handed to someone else).
const listener = new pg.Client({ connectionString: process.env.DATABASE_URL });
await listener.connect();
listener.on('notification', () => wake());
listener.on('error', (err) => console.error(`listener: ${err.message}`));
await listener.query(`LISTEN ${CHANNEL}`);

interface Job {
  id: string;
  n: number;
  tries: number;
}

/** Compare-and-set: the candidate is ours only if it is still claimable when the UPDATE runs. */
async function claim(): Promise<Job | undefined> {
  for (let i = 0; i < 5; i++) {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM jobs WHERE (state = 'pending' AND available_at <= clock_timestamp()) OR (state = 'running' AND lease_expires_at < clock_timestamp())
       ORDER BY available_at LIMIT 1`,
    );
    if (!rows[0]) return undefined;
    const won = await pool.query<Job>(
      `UPDATE jobs SET state = 'running', tries = tries + 1, lease_expires_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
       WHERE id = $1 AND ((state = 'pending' AND available_at <= clock_timestamp()) OR (state = 'running' AND lease_expires_at < clock_timestamp()))
       RETURNING id, n, tries`,
      [rows[0].id, leaseMs],
    );
    if (won.rows[0]) return won.rows[0];
  }
  return undefined;
}

/** How long until a job becomes claimable (a retry's time, a lease's end), capped at 1 s. */
async function untilNextDue(): Promise<number> {
  const { rows } = await pool.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(CASE WHEN state = 'pending' THEN available_at ELSE lease_expires_at END) - clock_timestamp()) * 1000)::float8 AS ms
     FROM jobs WHERE state IN ('pending', 'running')`,
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? 1000 : Math.min(1000, Math.max(0, ms));
}

async function attempt(job: Job): Promise<void> {
  const abort = new AbortController();
  current = { id: job.id, abort };
  try {
    const res = await fetch(`${dependency}/quote?report=${encodeURIComponent(job.id)}&n=${job.n}`, { signal: abort.signal });
    if (!res.ok) throw new Error(`the dependency answered ${res.status}`);
    const body = (await res.json()) as { value?: unknown };
    if (typeof body.value !== 'number') throw new Error('the dependency answered without a numeric value');
    await pool.query(`UPDATE jobs SET state = 'done', value = $2, last_error = NULL, lease_expires_at = NULL WHERE id = $1`, [job.id, body.value]);
  } catch (err) {
    if (abort.signal.aborted) {
      // SIGTERM: hand it back now, for the next worker (no waiting out the lease).
      await pool.query(`UPDATE jobs SET state = 'pending', available_at = clock_timestamp(), lease_expires_at = NULL WHERE id = $1 AND state = 'running'`, [job.id]);
      return;
    }
    const reason = (err as Error).message;
    if (job.tries >= maxAttempts) {
      await pool.query(`UPDATE jobs SET state = 'failed', last_error = $2, lease_expires_at = NULL WHERE id = $1`, [job.id, `attempt ${job.tries}: ${reason}`]);
    } else {
      const delay = retryBaseMs * 2 ** (job.tries - 1);
      await pool.query(
        `UPDATE jobs SET state = 'pending', last_error = $2, lease_expires_at = NULL, available_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000) WHERE id = $1`,
        [job.id, reason, delay],
      );
    }
  } finally {
    current = undefined;
  }
}

process.on('SIGTERM', () => {
  stopping = true;
  current?.abort.abort();
  wake();
});

while (!stopping) {
  const job = await claim();
  if (job) {
    await attempt(job);
    continue;
  }
  const ms = await untilNextDue();
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
  wake = () => {};
}
// Whatever was in hand is back in the table: leave.
await listener.end().catch(() => {});
await pool.end().catch(() => {});
process.exit(0);
