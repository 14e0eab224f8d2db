// Reference solution, the worker: claims one job at a time with a lease (FOR UPDATE SKIP LOCKED), calls
// the dependency, records the result; failures are retried with exponential backoff up to MAX_ATTEMPTS.
import { ensureSchema, pool } from './db.ts';

const DEPENDENCY_URL = process.env.DEPENDENCY_URL!;
const RETRY_BASE_MS = Number(process.env.RETRY_BASE_MS ?? 1000);
const MAX_ATTEMPTS = Number(process.env.MAX_ATTEMPTS ?? 5);
const LEASE_MS = Number(process.env.LEASE_MS ?? 30_000);

interface Job {
  id: string;
  n: number;
  attempts: number;
}

let stopping = false;
let current: Promise<void> | undefined;

/** Takes the next due job: pending and due, or running with its lease run out (its worker died). */
async function claim(): Promise<Job | undefined> {
  const { rows } = await pool.query<Job>(
    `UPDATE reports SET status = 'running', attempts = attempts + 1, locked_until = now() + $1 * interval '1 millisecond'
     WHERE id = (SELECT id FROM reports
                 WHERE (status = 'pending' AND run_after <= now()) OR (status = 'running' AND locked_until < now())
                 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
     RETURNING id::text, n, attempts`,
    [LEASE_MS],
  );
  return rows[0];
}

async function work(job: Job): Promise<void> {
  try {
    const res = await fetch(`${DEPENDENCY_URL}/quote?report=${job.id}&n=${job.n}`, { signal: AbortSignal.timeout(LEASE_MS) });
    if (!res.ok) throw new Error(`the dependency answered ${res.status}`);
    const { value } = (await res.json()) as { value: number };
    await pool.query(`UPDATE reports SET status = 'done', result = $2, locked_until = NULL WHERE id = $1`, [job.id, value]);
    console.log(`report ${job.id}: done (attempt ${job.attempts})`);
  } catch (err) {
    const message = (err as Error).message;
    if (job.attempts >= MAX_ATTEMPTS) {
      await pool.query(`UPDATE reports SET status = 'failed', error = $2, locked_until = NULL WHERE id = $1`, [job.id, `attempt ${job.attempts}: ${message}`]);
      console.log(`report ${job.id}: failed for good after ${job.attempts} attempts (${message})`);
    } else {
      const delay = RETRY_BASE_MS * 2 ** (job.attempts - 1);
      await pool.query(`UPDATE reports SET status = 'pending', run_after = now() + $2 * interval '1 millisecond', locked_until = NULL WHERE id = $1`, [job.id, delay]);
      console.log(`report ${job.id}: attempt ${job.attempts} failed (${message}), retry in ${delay} ms`);
    }
  }
}

process.on('SIGTERM', async () => {
  stopping = true;
  console.log('SIGTERM: finishing the job in hand, then exiting');
  await current;
  await pool.end();
  process.exit(0);
});

await ensureSchema();
console.log('worker started');
while (!stopping) {
  const job = await claim().catch((err) => {
    console.error(`claim failed: ${(err as Error).message}`);
    return undefined;
  });
  if (!job) {
    await new Promise((r) => setTimeout(r, 50));
    continue;
  }
  current = work(job);
  await current;
  current = undefined;
}
