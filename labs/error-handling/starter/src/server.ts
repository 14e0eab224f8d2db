import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// This server works on the happy path, but it handles errors the way many first servers do: not at all.
// A bad body, an unknown route, a thrown error or a slow dependency gives the wrong answer or crashes the
// process. Your job (see README.md): one central error handler that turns every failure into
// `application/problem+json` (RFC 9457) with the right status, reveals no internals, logs what went
// wrong with a request id, and keeps the server running.

const port = Number(process.env.PORT ?? 3000);
const dependencyUrl = process.env.DEPENDENCY_URL ?? 'http://127.0.0.1:9';
const dependencyTimeoutMs = Number(process.env.DEPENDENCY_TIMEOUT_MS ?? 1000); // TODO: use it

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
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

interface Order {
  id: string;
  item: string;
  quantity: number;
}
const orders = new Map<string, Order>();

// The faults the README asks for: each simulates a bug whose message holds internal details.
async function failingQuery(detail: string): Promise<never> {
  await new Promise((r) => setTimeout(r, 5));
  throw new Error(`query failed: UPDATE accounts SET balance = balance - 1 WHERE api_key = '${detail}'`);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');

  if (req.method === 'GET' && url.pathname === '/health') {
    return sendJson(res, 200, { status: 'ok' });
  }

  if (req.method === 'POST' && url.pathname === '/orders') {
    const body = JSON.parse(await readBody(req)); // TODO: 415, 400, 422
    const order: Order = { id: randomUUID(), item: body.item, quantity: body.quantity };
    orders.set(order.id, order);
    return sendJson(res, 201, order);
  }

  const match = /^\/orders\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && match) {
    return sendJson(res, 200, orders.get(match[1]) ?? null); // TODO: 404 for an unknown id
  }

  if (req.method === 'GET' && url.pathname === '/fault/sync') {
    const detail = url.searchParams.get('detail') ?? '';
    throw new Error(`query failed: SELECT * FROM accounts WHERE api_key = '${detail}'`);
  }

  if (req.method === 'GET' && url.pathname === '/fault/async') {
    await failingQuery(url.searchParams.get('detail') ?? '');
  }

  if (req.method === 'GET' && url.pathname === '/fault/dependency') {
    const upstream = await fetch(`${dependencyUrl}/stock`); // TODO: give up after DEPENDENCY_TIMEOUT_MS
    return sendJson(res, 200, { dependency: await upstream.json() });
  }

  // TODO: 405 + Allow for a known path with the wrong method; problem details everywhere.
  sendJson(res, 404, { error: 'not found' });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
