// inventory: owns the stock. Its state (stock and reservations) lives in DATA_DIR/inventory/, so a restart
// keeps it; nobody else reads those files.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const PORT = Number(process.env.PORT ?? 3001);
const DIR = join(process.env.DATA_DIR ?? 'data', 'inventory');
mkdirSync(DIR, { recursive: true });
const FILE = join(DIR, 'state.json');

interface State {
  stock: Record<string, number>;
  /** orderId -> what was reserved for it (one entry per POST /reservations). */
  reservations: Record<string, { sku: string; qty: number }[]>;
}
const state: State = existsSync(FILE) ? JSON.parse(readFileSync(FILE, 'utf8')) : { stock: {}, reservations: {} };

function save(): void {
  writeFileSync(`${FILE}.tmp`, JSON.stringify(state));
  renameSync(`${FILE}.tmp`, FILE);
}

/** requestId -> the requests that carried it (for GET /calls). */
const calls = new Map<string, { method: string; path: string; at: number }[]>();

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

const isQty = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://x');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const method = req.method ?? 'GET';
  const requestId = req.headers['x-request-id'];
  if (typeof requestId === 'string' && url.pathname !== '/calls') {
    const list = calls.get(requestId) ?? [];
    list.push({ method, path: req.url ?? '/', at: Date.now() });
    calls.set(requestId, list);
  }
  const item = /^\/items\/([^/]+)$/.exec(url.pathname);
  const reservation = /^\/reservations\/([^/]+)$/.exec(url.pathname);

  if (method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
  if (method === 'GET' && url.pathname === '/calls') {
    return send(res, 200, { calls: calls.get(url.searchParams.get('requestId') ?? '') ?? [] });
  }
  if (item) {
    const sku = decodeSegment(item[1]!);
    if (method === 'PUT') {
      const body = (await readJson(req)) as { stock?: unknown } | undefined;
      const stock = body?.stock;
      if (typeof stock !== 'number' || !Number.isInteger(stock) || stock < 0) return send(res, 400, { error: '"stock" must be an integer >= 0' });
      state.stock[sku] = stock;
      save();
      return send(res, 200, { sku, stock });
    }
    if (method === 'GET') {
      if (!(sku in state.stock)) return send(res, 404, { error: `no item ${sku}` });
      return send(res, 200, { sku, stock: state.stock[sku] });
    }
  }
  if (method === 'POST' && url.pathname === '/reservations') {
    const body = (await readJson(req)) as { orderId?: unknown; sku?: unknown; qty?: unknown } | undefined;
    const { orderId, sku, qty } = body ?? {};
    if (typeof orderId !== 'string' || orderId === '' || typeof sku !== 'string' || !isQty(qty)) return send(res, 400, { error: 'expected {"orderId", "sku", "qty"}' });
    if (!(sku in state.stock)) return send(res, 404, { error: `no item ${sku}` });
    if (state.stock[sku]! < qty) return send(res, 409, { error: `only ${state.stock[sku]} of ${sku} left` });
    state.stock[sku]! -= qty;
    (state.reservations[orderId] ??= []).push({ sku, qty });
    save();
    return send(res, 201, { orderId, sku, qty });
  }
  if (method === 'DELETE' && reservation) {
    const orderId = decodeSegment(reservation[1]!);
    for (const r of state.reservations[orderId] ?? []) state.stock[r.sku] = (state.stock[r.sku] ?? 0) + r.qty;
    delete state.reservations[orderId];
    save();
    return send(res, 204);
  }
  send(res, 404, { error: `no route ${method} ${url.pathname}` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
}).listen(PORT, () => console.log(`inventory listening on ${PORT}`));
