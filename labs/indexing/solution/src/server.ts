import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';

// The grader gives you a port in PORT and a PostgreSQL database in DATABASE_URL that already holds the tables
// `customers` (a million rows) and `orders` (two million). Your server adds the indexes and serves the searches.
const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const ORDER_COLUMNS = 'id, customer_id, status, total_cents, created_at';

// One index per query shape, nothing more: every index is written on every insert.
const INDEXES = [
  // equality: WHERE customer_id = $1
  'CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id)',
  // range plus sort: WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id LIMIT 100
  'CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at, id)',
  // the hot status: only pending orders (0.4 %), in the order the queue is read
  "CREATE INDEX IF NOT EXISTS orders_pending_idx ON orders (created_at, id) WHERE status = 'pending'",
  // prefix search: `name` has a linguistic collation, so LIKE 'abc%' needs the pattern operator class
  'CREATE INDEX IF NOT EXISTS customers_name_prefix_idx ON customers (name text_pattern_ops)',
];

interface OrderRow {
  id: string;
  customer_id: string;
  status: string;
  total_cents: number;
  created_at: Date;
}

const toOrder = (r: OrderRow) => ({ id: Number(r.id), customer_id: Number(r.customer_id), status: r.status, total_cents: r.total_cents, created_at: r.created_at.toISOString() });

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const bad = (res: ServerResponse, error: string) => send(res, 400, { error });

/** LIKE's metacharacters (\ first, then % and _) as literal text, then `%`: a prefix pattern. */
const prefixPattern = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function timestamp(value: string | null): string | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

async function listOrders(url: URL, res: ServerResponse): Promise<void> {
  const q = url.searchParams;
  const customer = q.get('customer_id');
  const from = q.get('from');
  const to = q.get('to');
  const status = q.get('status');
  const forms = [customer !== null, from !== null || to !== null, status !== null].filter(Boolean).length;
  if (forms !== 1) return bad(res, 'use exactly one of: customer_id, from and to, status=pending');
  if (customer !== null) {
    if (!/^[1-9]\d{0,17}$/.test(customer)) return bad(res, 'customer_id must be a positive integer');
    const { rows } = await pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE customer_id = $1 ORDER BY id`, [customer]);
    return send(res, 200, { orders: rows.map(toOrder) });
  }
  if (status !== null) {
    if (status !== 'pending') return bad(res, 'only status=pending is supported');
    const { rows } = await pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE status = 'pending' ORDER BY created_at, id LIMIT 100`);
    return send(res, 200, { orders: rows.map(toOrder) });
  }
  const start = timestamp(from);
  const end = timestamp(to);
  if (!start || !end) return bad(res, 'from and to must be ISO 8601 timestamps');
  const { rows } = await pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id LIMIT 100`, [start, end]);
  send(res, 200, { orders: rows.map(toOrder) });
}

async function searchCustomers(url: URL, res: ServerResponse): Promise<void> {
  const prefix = url.searchParams.get('name_prefix');
  if (!prefix) return bad(res, 'name_prefix must be a non-empty string');
  const { rows } = await pool.query<{ id: string; name: string }>('SELECT id, name FROM customers WHERE name LIKE $1 ORDER BY id LIMIT 50', [prefixPattern(prefix)]);
  send(res, 200, { customers: rows.map((r) => ({ id: Number(r.id), name: r.name })) });
}

async function createOrder(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = (await readJson(req)) as { customer_id?: unknown; total_cents?: unknown } | undefined;
  const customer = body?.customer_id;
  const total = body?.total_cents;
  if (typeof customer !== 'number' || !Number.isSafeInteger(customer) || customer < 1) return bad(res, 'customer_id must be a positive integer');
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) return bad(res, 'total_cents must be a non-negative integer');
  const { rows } = await pool.query<OrderRow>(`INSERT INTO orders (customer_id, status, total_cents) VALUES ($1, 'pending', $2) RETURNING ${ORDER_COLUMNS}`, [customer, total]);
  send(res, 201, toOrder(rows[0]));
}

const server = createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const route = `${req.method} ${url.pathname}`;
  const handle =
    route === 'GET /orders' ? listOrders(url, res) : route === 'GET /customers' ? searchCustomers(url, res) : route === 'POST /orders' ? createOrder(req, res) : Promise.resolve(send(res, 404, { error: 'not found' }));
  handle.catch((err: Error) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
});

// The indexes first (seconds on two million rows; IF NOT EXISTS makes a restart cheap), then listen.
await Promise.all(INDEXES.map((sql) => pool.query(sql)));
server.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
