// orders: takes orders and reserves their stock at inventory, its peer, over HTTP (through PEERS only).
// Every call to inventory has a timeout and goes through one circuit breaker; only idempotent calls are
// retried (with exponential backoff and jitter). An order is written to disk as "pending" before the
// reservation (the saga's log), so a crash in between is undone at the next start.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
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

const PORT = Number(process.env.PORT ?? 3000);
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS ?? 500);
const RETRY_BASE_MS = Number(process.env.RETRY_BASE_MS ?? 400);
const BREAKER_FAILURES = Number(process.env.BREAKER_FAILURES ?? 4);
const OPEN_MS = Number(process.env.OPEN_MS ?? 2000);
const ATTEMPTS = 3;

/** PEERS=inventory=127.0.0.1:40001: the address to use for each peer. */
function peer(name: string): string {
  for (const entry of (process.env.PEERS ?? '').split(',')) {
    const [n, address] = entry.split('=');
    if (n?.trim() === name && address) return `http://${address.trim()}`;
  }
  return '';
}
const INVENTORY = peer('inventory');

// --- storage: DATA_DIR/orders/ belongs to this service alone -------------------------------------------

type Status = 'pending' | 'confirmed' | 'cancelled';
interface Order {
  id: string;
  sku: string;
  qty: number;
  status: Status;
}
const DIR = join(process.env.DATA_DIR ?? 'data', 'orders');
mkdirSync(DIR, { recursive: true });
const FILE = join(DIR, 'orders.json');
const orders = new Map<string, Order>(existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Order[]).map((o) => [o.id, o]) : []);

function save(): void {
  writeFileSync(`${FILE}.tmp`, JSON.stringify([...orders.values()]));
  renameSync(`${FILE}.tmp`, FILE);
}

// --- the circuit breaker --------------------------------------------------------------------------------

let breaker: 'closed' | 'open' | 'half-open' = 'closed';
let failures = 0;
let openedAt = 0;
let trialInFlight = false;

function admit(): boolean {
  if (breaker === 'open' && Date.now() - openedAt >= OPEN_MS) {
    breaker = 'half-open';
    trialInFlight = false;
  }
  if (breaker === 'closed') return true;
  if (breaker === 'half-open' && !trialInFlight) {
    trialInFlight = true; // one trial call; the others fail fast until it is back
    return true;
  }
  return false;
}

function succeeded(): void {
  breaker = 'closed';
  failures = 0;
  trialInFlight = false;
}

function failed(): void {
  if (breaker === 'half-open') {
    breaker = 'open';
    openedAt = Date.now();
    trialInFlight = false;
    return;
  }
  if (breaker === 'open') return;
  failures++;
  if (failures >= BREAKER_FAILURES) {
    breaker = 'open';
    openedAt = Date.now();
  }
}

// --- calls to inventory ---------------------------------------------------------------------------------

class Unavailable extends Error {
  constructor(
    message: string,
    readonly kind: 'open' | 'timeout' | 'error',
  ) {
    super(message);
  }
}

interface Answer {
  status: number;
  body: any;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(method: string, path: string, requestId: string, body?: unknown): Promise<Answer> {
  if (!admit()) throw new Unavailable('inventory is failing: circuit open', 'open');
  try {
    const res = await fetch(INVENTORY + path, {
      method,
      headers: { 'X-Request-Id': requestId, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status >= 500) throw new Error(`inventory answered ${res.status}`);
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`inventory answered ${res.status} with a body that is not JSON`);
      }
    }
    succeeded();
    return { status: res.status, body: parsed };
  } catch (err) {
    failed();
    const timeout = (err as Error).name === 'TimeoutError';
    throw new Unavailable(timeout ? `inventory did not answer within ${TIMEOUT_MS} ms` : `inventory unreachable: ${(err as Error).message}`, timeout ? 'timeout' : 'error');
  }
}

/** For idempotent calls only (GET, DELETE): up to ATTEMPTS in all, exponential backoff with jitter. */
async function callIdempotent(method: string, path: string, requestId: string): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(method, path, requestId);
    } catch (err) {
      if (attempt >= ATTEMPTS || (err as Unavailable).kind === 'open') throw err;
      const ceiling = RETRY_BASE_MS * 2 ** (attempt - 1);
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }
}

/** The saga's compensation: give the reservation back (idempotent), until inventory confirms it. */
async function compensate(order: Order, requestId: string): Promise<void> {
  for (let round = 0; ; round++) {
    try {
      const answer = await call('DELETE', `/reservations/${encodeURIComponent(order.id)}`, requestId);
      if (answer.status < 300 || answer.status === 404) {
        order.status = 'cancelled';
        save();
        return;
      }
    } catch {
      // inventory still unreachable (or the breaker is open): try again a little later
    }
    await sleep(Math.min(500, 100 * 2 ** round));
  }
}

// --- HTTP -----------------------------------------------------------------------------------------------

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && incoming !== '' ? incoming : randomUUID();
  res.setHeader('X-Request-Id', requestId);
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
  const orderPath = /^\/orders\/([^/]+)$/.exec(url.pathname);
  const productPath = /^\/products\/([^/]+)$/.exec(url.pathname);

  if (method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
  if (method === 'GET' && url.pathname === '/orders') return send(res, 200, { orders: [...orders.values()] });
  if (method === 'GET' && orderPath) {
    const order = orders.get(decodeSegment(orderPath[1]!));
    return order ? send(res, 200, order) : send(res, 404, { error: 'no such order' });
  }
  if (method === 'GET' && productPath) {
    const sku = decodeSegment(productPath[1]!);
    try {
      const answer = await callIdempotent('GET', `/items/${encodeURIComponent(sku)}`, requestId);
      if (answer.status === 404) return send(res, 404, { error: `no item ${sku}` });
      return send(res, 200, { sku, stock: answer.body?.stock });
    } catch {
      return send(res, 200, { sku, stock: null, degraded: true }); // inventory is down: say so, do not fail
    }
  }
  if (method === 'POST' && url.pathname === '/orders') {
    const body = await readJson(req);
    const sku = body?.sku;
    const qty = body?.qty;
    if (typeof sku !== 'string' || sku === '' || typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1) {
      return send(res, 400, { error: 'expected {"sku": "<non-empty string>", "qty": <integer >= 1>}' });
    }
    const order: Order = { id: randomUUID(), sku, qty, status: 'pending' };
    orders.set(order.id, order);
    save(); // the saga's log: a crash from here on is undone at the next start
    try {
      const answer = await call('POST', '/reservations', requestId, { orderId: order.id, sku, qty });
      if (answer.status === 200 || answer.status === 201) {
        order.status = 'confirmed';
        save();
        return send(res, 201, order, { Location: `/orders/${order.id}` });
      }
      order.status = 'cancelled';
      save();
      return send(res, 409, { error: answer.body?.error ?? `inventory refused the reservation (${answer.status})`, orderId: order.id });
    } catch (err) {
      const u = err as Unavailable;
      if (u.kind === 'open') {
        order.status = 'cancelled'; // no call was made: nothing to undo
        save();
      } else {
        void compensate(order, requestId); // the reservation may have happened: undo it
      }
      return send(res, u.kind === 'timeout' ? 504 : 503, { error: u.message, orderId: order.id });
    }
  }
  send(res, 404, { error: `no route ${method} ${url.pathname}` });
}

// Orders left pending by a crash: their reservation may exist, so give it back.
for (const order of orders.values()) if (order.status === 'pending') void compensate(order, randomUUID());

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
}).listen(PORT, () => console.log(`orders listening on ${PORT}, inventory at ${INVENTORY || '(PEERS has no inventory)'}`));
