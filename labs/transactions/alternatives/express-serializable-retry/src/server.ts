// Another correct solution, written from README.md: Express 5 instead of hand-written node:http, and another
// concurrency strategy. No row is locked explicitly (no SELECT ... FOR UPDATE, no guarded UPDATE): each
// transfer runs at SERIALIZABLE, reads both balances, computes the new ones in code and writes them back.
// At READ COMMITTED that is the lost update of the README; at SERIALIZABLE PostgreSQL aborts whichever
// transaction would break the serial order (SQLSTATE 40001, "could not serialize access") and this server
// runs it again from BEGIN, with a fresh snapshot, until it commits or gets a final answer (404, 422, 500).
// The rows are written in id order whatever the direction, so A -> B and B -> A queue instead of deadlocking.
import express, { type NextFunction, type Request, type Response } from 'express';
import pg from 'pg';

const port = Number(process.env.PORT ?? 3000);
if (!process.env.DATABASE_URL) {
  console.error('DATABASE_URL is not set: the server needs a PostgreSQL database.');
  process.exit(1);
}
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', (err) => console.error('idle database client error:', err.message));

await pool.query(`
  CREATE TABLE IF NOT EXISTS accounts (
    id      text   PRIMARY KEY,
    balance bigint NOT NULL CHECK (balance >= 0)
  );
  CREATE TABLE IF NOT EXISTS transfers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_account text   NOT NULL REFERENCES accounts (id),
    to_account   text   NOT NULL REFERENCES accounts (id),
    amount       bigint NOT NULL CHECK (amount > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS ledger_entries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id bigint NOT NULL REFERENCES transfers (id),
    account_id  text   NOT NULL REFERENCES accounts (id),
    amount      bigint NOT NULL
  );`);

/** How often the server itself runs a transfer again after a serialization failure or a deadlock. */
const ATTEMPTS = 40;
const RETRYABLE = new Set(['40001', '40P01']);
const sqlState = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Outcome = { status: number; body: Record<string, unknown> };

/** One attempt at the transfer, in one SERIALIZABLE transaction on one connection, ended before returning. */
async function attempt(from: string, to: string, amount: number): Promise<Outcome> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    try {
      const { rows } = await client.query<{ id: string; balance: string }>('SELECT id, balance FROM accounts WHERE id = ANY($1::text[]) ORDER BY id', [[from, to]]);
      const balance = new Map(rows.map((r) => [r.id, BigInt(r.balance)]));
      const missing = [from, to].find((id) => !balance.has(id));
      if (missing !== undefined) {
        await client.query('ROLLBACK');
        return { status: 404, body: { error: `There is no account ${JSON.stringify(missing)}.` } };
      }
      const cents = BigInt(amount);
      if (balance.get(from)! < cents) {
        await client.query('ROLLBACK');
        return { status: 422, body: { error: `${from} has ${balance.get(from)} cents, less than the ${amount} to transfer.` } };
      }
      // Read, compute, write back: safe only because the isolation level is SERIALIZABLE (a concurrent
      // transfer that changed either row since this snapshot makes this UPDATE or the COMMIT fail with 40001).
      for (const row of rows) {
        const next = row.id === from ? balance.get(row.id)! - cents : balance.get(row.id)! + cents;
        await client.query('UPDATE accounts SET balance = $2 WHERE id = $1', [row.id, next.toString()]);
      }
      const { rows: made } = await client.query<{ id: string }>('INSERT INTO transfers (from_account, to_account, amount) VALUES ($1, $2, $3) RETURNING id', [from, to, amount]);
      const id = made[0].id;
      await client.query('INSERT INTO ledger_entries (transfer_id, account_id, amount) VALUES ($1, $2, $3), ($1, $4, $5)', [id, from, -amount, to, amount]);
      await client.query('COMMIT'); // the answer goes out only once this has returned: durable
      return { status: 201, body: { id: Number(id), from, to, amount } };
    } catch (err) {
      // Whatever failed (a constraint, a trigger, a serialization failure), nothing of the transfer stays.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    }
  } finally {
    client.release(broken); // a connection that could not even roll back is closed, not reused
  }
}

/** The transfer, run again from BEGIN after a 40001/40P01 (with a random pause, so the rivals spread out). */
async function transfer(from: string, to: string, amount: number): Promise<Outcome> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(from, to, amount);
    } catch (err) {
      if (!RETRYABLE.has(sqlState(err) ?? '')) throw err;
      // Still conflicting after all these attempts: nothing was applied, so the client may send it again.
      if (n >= ATTEMPTS) return { status: 503, body: { error: 'Too many concurrent transfers on these accounts: nothing was applied, try again.' } };
      await sleep(Math.random() * Math.min(50, 2 * n));
    }
  }
}

const fail = (res: Response, status: number, error: string) => void res.status(status).json({ error });

const app = express();
app.disable('x-powered-by');

app.get('/accounts/:id', async (req: Request, res: Response) => {
  const { rows } = await pool.query<{ id: string; balance: string }>('SELECT id, balance FROM accounts WHERE id = $1', [req.params.id]);
  if (rows.length === 0) return fail(res, 404, `There is no account ${JSON.stringify(req.params.id)}.`);
  res.json({ id: rows[0].id, balance: Number(rows[0].balance) });
});

// The body is JSON whatever Content-Type the client sent (the README names no header).
app.post('/transfers', express.json({ type: () => true }), async (req: Request, res: Response) => {
  const body: unknown = req.body;
  const { from, to, amount } = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  if (typeof from !== 'string' || from === '' || typeof to !== 'string' || to === '') return fail(res, 400, '`from` and `to` must be account ids (non-empty strings).');
  if (from === to) return fail(res, 400, '`from` and `to` must be two different accounts.');
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) return fail(res, 400, '`amount` must be a positive whole number of cents.');
  const outcome = await transfer(from, to, amount);
  if (outcome.status === 503) res.set('Retry-After', '1');
  res.status(outcome.status).json(outcome.body);
});

app.use((_req: Request, res: Response) => fail(res, 404, 'Not found.'));

// What threw: Express's own client errors (malformed JSON, a bad escape in /accounts/%zz) keep their 4xx;
// anything else, a statement PostgreSQL refused included, is a 500 after the ROLLBACK above.
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return fail(res, status, (err as Error).message);
  console.error((err as Error)?.message ?? err);
  fail(res, 500, 'The transfer failed and was rolled back.');
});

const server = app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));

process.once('SIGTERM', () => {
  server.close(() => void pool.end().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 3000).unref();
});
