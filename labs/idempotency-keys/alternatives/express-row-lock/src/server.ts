// The same contract with Express and another design: "in progress" is a row lock, not a column. The key row
// is committed first; then each request locks it with SELECT ... FOR UPDATE NOWAIT for the whole of its work.
// A duplicate that cannot take the lock answers 409 at once; if a process dies mid-payment, PostgreSQL drops
// its lock with the connection and the next retry simply does the work (no stuck "in progress" rows).
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import pg from 'pg';

const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', (err) => console.error('idle database client error:', err.message));

await pool.query(`
  CREATE TABLE IF NOT EXISTS payments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    amount     integer NOT NULL,
    currency   text NOT NULL,
    recipient  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS payment_requests (
    idempotency_key text PRIMARY KEY,
    request_hash    text NOT NULL,
    status          integer,
    body            jsonb
  );`);

const problem = (res: Response, status: number, title: string, detail: string) =>
  void res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status, detail }));

/** Canonical JSON (keys sorted), so the fingerprint ignores key order and whitespace. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Idempotency-Key is a Structured Field String: "..." with \" and \\ escapes. */
function idempotencyKey(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^\s*"((?:[ !#-[\]-~]|\\["\\])+)"\s*$/.exec(header);
  return m && m[1].length <= 255 ? m[1].replace(/\\(["\\])/g, '$1') : undefined;
}

const app = express();
app.disable('x-powered-by');
app.use(express.json({ type: () => true }));

app.post('/payments', async (req: Request, res: Response) => {
  if (req.get('Idempotency-Key') === undefined) return problem(res, 400, 'Bad Request', 'The Idempotency-Key header is required.');
  const key = idempotencyKey(req.get('Idempotency-Key'));
  if (key === undefined) return problem(res, 400, 'Bad Request', 'The Idempotency-Key header must be a quoted string.');
  const { amount, currency, recipient } = (req.body ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(amount) || (amount as number) <= 0 || typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency) || typeof recipient !== 'string' || !recipient) {
    return problem(res, 400, 'Bad Request', 'A payment is {"amount": <positive integer>, "currency": "EUR", "recipient": "..."}.');
  }
  const hash = createHash('sha256').update(canonical(req.body)).digest('hex');

  await pool.query('INSERT INTO payment_requests (idempotency_key, request_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING', [key, hash]);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Every early answer goes out after ROLLBACK: answering while the row lock is still held would make a
    // client's next request with this key (sent the moment it reads the answer) find it "in progress".
    const answer = async (send: () => void) => {
      await client.query('ROLLBACK').catch(() => {});
      send();
    };
    let row: { request_hash: string; status: number | null; body: unknown } | undefined;
    try {
      row = (await client.query('SELECT request_hash, status, body FROM payment_requests WHERE idempotency_key = $1 FOR UPDATE NOWAIT', [key])).rows[0];
    } catch (err) {
      if ((err as { code?: string }).code === '55P03') return answer(() => problem(res, 409, 'Conflict', 'A request with this Idempotency-Key is being processed right now; retry later.'));
      throw err;
    }
    if (!row) return answer(() => problem(res, 409, 'Conflict', 'Retry: this key was released a moment ago.'));
    if (row.request_hash !== hash) return answer(() => problem(res, 422, 'Unprocessable Content', 'This Idempotency-Key was used for a different request.'));
    const stored = row;
    if (stored.status !== null) return answer(() => void res.status(stored.status!).set('Idempotent-Replayed', 'true').json(stored.body));

    const payment = (
      await client.query('INSERT INTO payments (amount, currency, recipient) VALUES ($1, $2, $3) RETURNING id, amount, currency, recipient, created_at', [amount, currency, recipient])
    ).rows[0];
    await client.query('UPDATE payment_requests SET status = 201, body = $2 WHERE idempotency_key = $1', [key, JSON.stringify(payment)]);
    await client.query('COMMIT');
    res.status(201).location(`/payments/${payment.id}`).json(payment);
  } finally {
    await client.query('ROLLBACK').catch(() => {}); // a no-op after COMMIT or an early answer; ends a transaction an error left open
    client.release();
  }
});

app.use((req, res) => problem(res, 404, 'Not Found', `No route for ${req.method} ${req.path}.`));
app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
  if (err.type === 'entity.parse.failed') return problem(res, 400, 'Bad Request', 'The body is not valid JSON.');
  console.error(err);
  problem(res, 500, 'Internal Server Error', 'Something went wrong.');
});

const server = app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
process.on('SIGTERM', () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
