// POST /payments honouring Idempotency-Key (draft-ietf-httpapi-idempotency-key-header), by hand: node:http + pg.
// A key row is committed as "in progress" before the payment is written; the payment and the stored
// response are then committed together. A retry finds the row and replays, refuses (409) or rejects (422).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import pg from 'pg';

const port = Number(process.env.PORT ?? 3000);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('DATABASE_URL is not set: the server needs a PostgreSQL database.');
  process.exit(1);
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
pool.on('error', (err) => console.error('idle database client error:', err.message));

await pool.query(`
  CREATE TABLE IF NOT EXISTS payments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    amount     integer NOT NULL CHECK (amount > 0),
    currency   text NOT NULL,
    recipient  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS idempotency_keys (
    key             text PRIMARY KEY,
    fingerprint     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    response_status integer,  -- NULL while the first request is still being processed
    response_body   text
  );`);

// --- HTTP helpers --------------------------------------------------------------------------------------

function send(res: ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

const TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 422: 'Unprocessable Content', 500: 'Internal Server Error' };

/** RFC 9457 problem details. */
function problem(res: ServerResponse, status: number, detail: string) {
  send(res, status, JSON.stringify({ type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail }), 'application/problem+json');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The draft defines Idempotency-Key as a Structured Field String (RFC 9651): `"..."`, printable ASCII,
 * with `\"` and `\\` escapes. Returns the key, or undefined when the value is not such a string.
 */
function parseKey(raw: string | string[] | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(raw.trim());
  if (!m) return undefined;
  const key = m[1].replace(/\\(["\\])/g, '$1');
  return key.length >= 1 && key.length <= 255 ? key : undefined;
}

interface PaymentInput {
  amount: number;
  currency: string;
  recipient: string;
}

function validate(body: unknown): PaymentInput | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const { amount, currency, recipient } = body as Record<string, unknown>;
  if (!Number.isInteger(amount) || (amount as number) <= 0 || (amount as number) > 1e9) return '`amount` must be a positive integer (minor units, e.g. cents)';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) return '`currency` must be a three-letter ISO 4217 code such as "EUR"';
  if (typeof recipient !== 'string' || recipient.trim() === '' || recipient.length > 200) return '`recipient` must be a non-empty string';
  return { amount: amount as number, currency, recipient };
}

// --- POST /payments ------------------------------------------------------------------------------------

interface KeyRow {
  fingerprint: string;
  response_status: number | null;
  response_body: string | null;
}

async function createPayment(req: IncomingMessage, res: ServerResponse) {
  const key = parseKey(req.headers['idempotency-key']);
  if (req.headers['idempotency-key'] === undefined) return problem(res, 400, 'This operation requires an Idempotency-Key header, e.g. Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".');
  if (key === undefined) return problem(res, 400, 'Idempotency-Key must be a Structured Field String: 1 to 255 printable characters in double quotes.');
  const raw = await readBody(req);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return problem(res, 400, 'The body is not valid JSON.');
  }
  const input = validate(parsed);
  if (typeof input === 'string') return problem(res, 400, input);
  // The request's fingerprint: the same key must always come with the same payload.
  const fingerprint = createHash('sha256').update(raw).digest('hex');

  // 1. Claim the key, committed at once: from now on every retry sees it, even while we work.
  const claimed = await pool.query('INSERT INTO idempotency_keys (key, fingerprint) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, fingerprint]);
  if (claimed.rowCount === 0) {
    const { rows } = await pool.query<KeyRow>('SELECT fingerprint, response_status, response_body FROM idempotency_keys WHERE key = $1', [key]);
    const row = rows[0];
    if (!row) return problem(res, 409, 'A request with this Idempotency-Key just failed and released it: retry.');
    if (row.fingerprint !== fingerprint) return problem(res, 422, 'This Idempotency-Key was already used with a different request payload.');
    if (row.response_status === null || row.response_body === null) return problem(res, 409, 'A request with this Idempotency-Key is still being processed: retry later.');
    return send(res, row.response_status, row.response_body, 'application/json', { 'Idempotent-Replayed': 'true' });
  }

  // 2. Do the work and store its response in one transaction.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      'INSERT INTO payments (amount, currency, recipient) VALUES ($1, $2, $3) RETURNING id::text AS id, amount, currency, recipient, created_at',
      [input.amount, input.currency, input.recipient],
    );
    const body = JSON.stringify(rows[0]);
    await client.query('UPDATE idempotency_keys SET response_status = 201, response_body = $2 WHERE key = $1', [key, body]);
    await client.query('COMMIT');
    return send(res, 201, body, 'application/json', { Location: `/payments/${rows[0].id}` });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    // Nothing happened: release the key so that a retry can do the work.
    await pool.query('DELETE FROM idempotency_keys WHERE key = $1 AND response_status IS NULL', [key]).catch(() => {});
    throw err;
  } finally {
    client.release();
  }
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
  const { pathname } = requestUrl;
  if (pathname === '/payments') {
    if (req.method === 'POST') return createPayment(req, res);
    res.setHeader('Allow', 'POST');
    return problem(res, 405, `${req.method} is not allowed on /payments`);
  }
  return problem(res, 404, `No route for ${pathname}.`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) problem(res, 500, 'Internal error.');
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));

process.on('SIGTERM', () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
