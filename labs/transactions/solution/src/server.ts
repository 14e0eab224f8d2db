import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set: the server needs a PostgreSQL database.');
  process.exit(1);
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
pool.on('error', (err) => console.error('idle database client error:', err.message));

// The schema from README.md, created at startup if it is missing (never dropped or emptied).
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
  );
  CREATE INDEX IF NOT EXISTS ledger_entries_transfer_id ON ledger_entries (transfer_id);`);

/** A refusal decided inside the transaction: the transaction is rolled back and this is the answer. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** BEGIN, the work, COMMIT; ROLLBACK on any error (a refusal or a failed statement). */
async function inTransaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work((text, values) => client.query(text, values));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}

interface Transfer {
  id: string;
  from: string;
  to: string;
  amount: number;
}

async function transfer(from: string, to: string, amount: number): Promise<Transfer> {
  return inTransaction(async (query) => {
    // Lock both rows in one consistent order (by id), whatever the direction: A->B and B->A wait for each
    // other instead of each holding one row and waiting for the other (a deadlock).
    const { rows } = await query('SELECT id, balance FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [[from, to]]);
    const source = rows.find((r) => r.id === from);
    if (!source) throw new Refusal(404, `no account ${from}`);
    if (!rows.some((r) => r.id === to)) throw new Refusal(404, `no account ${to}`);
    if (BigInt(source.balance) < BigInt(amount)) throw new Refusal(422, `insufficient funds in ${from}`);
    const debit = await query('UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2', [from, amount]);
    if (debit.rowCount !== 1) throw new Refusal(422, `insufficient funds in ${from}`);
    await query('UPDATE accounts SET balance = balance + $2 WHERE id = $1', [to, amount]);
    const inserted = await query('INSERT INTO transfers (from_account, to_account, amount) VALUES ($1, $2, $3) RETURNING id::text AS id', [from, to, amount]);
    const id: string = inserted.rows[0].id;
    await query('INSERT INTO ledger_entries (transfer_id, account_id, amount) VALUES ($1, $2, $3), ($1, $4, $5)', [id, from, -amount, to, amount]);
    return { id, from, to, amount };
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function postTransfer(req: IncomingMessage, res: ServerResponse) {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return sendJson(res, 400, { error: 'the body is not valid JSON' });
  }
  const { from, to, amount } = (body ?? {}) as { from?: unknown; to?: unknown; amount?: unknown };
  if (typeof from !== 'string' || from === '' || typeof to !== 'string' || to === '') return sendJson(res, 400, { error: '`from` and `to` must be account ids' });
  if (from === to) return sendJson(res, 400, { error: '`from` and `to` must be different accounts' });
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) return sendJson(res, 400, { error: '`amount` must be a positive integer (cents)' });
  try {
    const done = await transfer(from, to, amount);
    return sendJson(res, 201, done, { Location: `/transfers/${done.id}` });
  } catch (err) {
    if (err instanceof Refusal) return sendJson(res, err.status, { error: err.message });
    // 40001 serialization_failure, 40P01 deadlock_detected: nothing was applied, the client may retry.
    const code = (err as { code?: string }).code;
    if (code === '40001' || code === '40P01') return sendJson(res, 503, { error: 'busy, retry' }, { 'Retry-After': '1' });
    throw err;
  }
}

async function getAccount(id: string, res: ServerResponse) {
  const { rows } = await pool.query('SELECT id, balance FROM accounts WHERE id = $1', [id]);
  if (rows.length === 0) return sendJson(res, 404, { error: `no account ${id}` });
  return sendJson(res, 200, { id: rows[0].id, balance: Number(rows[0].balance) });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  if (url.pathname === '/transfers') {
    if (req.method === 'POST') return postTransfer(req, res);
    res.setHeader('Allow', 'POST');
    return sendJson(res, 405, { error: `${req.method} is not allowed on /transfers` });
  }
  const account = /^\/accounts\/([^/]+)$/.exec(url.pathname);
  if (account) {
    if (req.method === 'GET') return getAccount(decodeSegment(account[1]), res);
    res.setHeader('Allow', 'GET');
    return sendJson(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
  }
  return sendJson(res, 404, { error: `no route for ${url.pathname}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('request failed:', (err as Error).message);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});

process.on('SIGTERM', () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
