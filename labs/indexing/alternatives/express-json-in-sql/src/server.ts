// Another correct solution: Express 5, PostgreSQL builds the JSON itself (json_agg), other index choices
// (the tie-break by id left to an Incremental Sort, the pending status passed as a parameter, '!' as LIKE's
// escape character). Graded the same way: only the plans, buffers and answers count.
import express, { type Request, type Response } from 'express';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 });

const INDEXES = [
  'CREATE INDEX IF NOT EXISTS ix_orders_customer ON orders (customer_id, id)',
  'CREATE INDEX IF NOT EXISTS ix_orders_created ON orders (created_at)',
  "CREATE INDEX IF NOT EXISTS ix_orders_pending ON orders (created_at) WHERE status = 'pending'",
  'CREATE INDEX IF NOT EXISTS ix_customers_name ON customers (name text_pattern_ops)',
];

const ORDER_JSON = "json_build_object('id', id, 'customer_id', customer_id, 'status', status, 'total_cents', total_cents, 'created_at', created_at)";

/** The rows of `sql` as one JSON array, built by PostgreSQL. */
async function jsonList(sql: string, params: unknown[]): Promise<unknown[]> {
  const { rows } = await pool.query<{ list: unknown[] }>(`SELECT coalesce(json_agg(j), '[]'::json) AS list FROM (${sql}) s`, params);
  return rows[0].list;
}

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isIso = (v: string | undefined): v is string => v !== undefined && /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v));

const app = express();
app.use(express.json());

app.get('/orders', async (req: Request, res: Response) => {
  const customer = one(req.query.customer_id);
  const from = one(req.query.from);
  const to = one(req.query.to);
  const status = one(req.query.status);
  if (customer !== undefined) {
    if (!/^[1-9][0-9]{0,17}$/.test(customer)) return res.status(400).json({ error: 'customer_id must be a positive integer' });
    return res.json({ orders: await jsonList(`SELECT ${ORDER_JSON} AS j FROM orders WHERE customer_id = $1 ORDER BY id`, [customer]) });
  }
  if (status !== undefined) {
    if (status !== 'pending') return res.status(400).json({ error: 'only status=pending is served' });
    return res.json({ orders: await jsonList(`SELECT ${ORDER_JSON} AS j FROM orders WHERE status = $1 ORDER BY created_at, id LIMIT 100`, ['pending']) });
  }
  if (!isIso(from) || !isIso(to)) return res.status(400).json({ error: 'from and to must be ISO 8601 timestamps' });
  const orders = await jsonList(`SELECT ${ORDER_JSON} AS j FROM orders WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz ORDER BY created_at, id LIMIT 100`, [from, to]);
  res.json({ orders });
});

app.get('/customers', async (req: Request, res: Response) => {
  const prefix = one(req.query.name_prefix);
  if (!prefix) return res.status(400).json({ error: 'name_prefix is required' });
  const pattern = `${prefix.replace(/[!%_]/g, '!$&')}%`;
  const customers = await jsonList("SELECT json_build_object('id', id, 'name', name) AS j FROM customers WHERE name LIKE $1 ESCAPE '!' ORDER BY id LIMIT 50", [pattern]);
  res.json({ customers });
});

app.post('/orders', async (req: Request, res: Response) => {
  const { customer_id: customer, total_cents: total } = (req.body ?? {}) as Record<string, unknown>;
  if (!Number.isInteger(customer) || (customer as number) < 1) return res.status(400).json({ error: 'customer_id must be a positive integer' });
  if (!Number.isInteger(total) || (total as number) < 0) return res.status(400).json({ error: 'total_cents must be a non-negative integer' });
  const { rows } = await pool.query<{ j: unknown }>(`INSERT INTO orders (customer_id, status, total_cents) VALUES ($1, 'pending', $2) RETURNING ${ORDER_JSON} AS j`, [customer, total]);
  res.status(201).json(rows[0].j);
});

app.use((err: Error, _req: Request, res: Response, _next: unknown) => {
  console.error(err);
  res.status((err as { status?: number }).status === 400 ? 400 : 500).json({ error: err.message });
});

for (const sql of INDEXES) await pool.query(sql);
app.listen(Number(process.env.PORT ?? 3000), '0.0.0.0', () => console.log(`listening on ${process.env.PORT}`));
