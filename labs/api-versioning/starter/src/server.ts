import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// v1 of the products API, in production, with clients depending on it. Do not break it.
// Your task (see README.md): add v2 (prices in integer cents, a list envelope) next to it, negotiate the
// version from the Accept header on /products, and mark v1 as deprecated with Deprecation and Sunset.

const port = Number(process.env.PORT ?? 3000);

interface Product {
  id: string;
  name: string;
  price: number;
}
const products = new Map<string, Product>();

function sendJson(res: ServerResponse, status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}) {
  res.writeHead(status, { ...headers, 'Content-Type': type });
  res.end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, title: string, detail: string) {
  sendJson(res, status, { type: 'about:blank', title, status, detail }, 'application/problem+json');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });

  if (url.pathname === '/v1/products' && req.method === 'GET') {
    return sendJson(res, 200, [...products.values()]);
  }
  if (url.pathname === '/v1/products' && req.method === 'POST') {
    let body: { name?: unknown; price?: unknown };
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return problem(res, 400, 'Bad Request', 'The body is not valid JSON.');
    }
    if (typeof body?.name !== 'string' || body.name.trim() === '') return problem(res, 422, 'Unprocessable Content', '`name` must be a non-empty string.');
    if (typeof body.price !== 'number' || !(body.price >= 0)) return problem(res, 422, 'Unprocessable Content', '`price` must be a number >= 0.');
    const product: Product = { id: randomUUID(), name: body.name, price: body.price };
    products.set(product.id, product);
    return sendJson(res, 201, product, 'application/json', { Location: `/v1/products/${product.id}` });
  }
  const one = /^\/v1\/products\/([^/]+)$/.exec(url.pathname);
  if (one && req.method === 'GET') {
    const product = products.get(one[1]);
    if (!product) return problem(res, 404, 'Not Found', `There is no product ${one[1]}.`);
    return sendJson(res, 200, product);
  }
  problem(res, 404, 'Not Found', `There is nothing at ${req.method} ${url.pathname}.`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) problem(res, 500, 'Internal Server Error', 'An unexpected error occurred.');
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
