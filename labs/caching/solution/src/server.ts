import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);
const upstream = (process.env.UPSTREAM_URL ?? '').replace(/\/$/, '');
const ttlSeconds = Number(process.env.CACHE_TTL_SECONDS ?? 60);
if (!upstream || !process.env.REDIS_URL || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error('UPSTREAM_URL, REDIS_URL and a positive integer CACHE_TTL_SECONDS are required.');
  process.exit(1);
}

const redis = new Redis(process.env.REDIS_URL);
redis.on('error', (err) => console.error('redis:', err.message));

const cacheKey = (id: string) => `product:${id}`;

/** Misses in progress, by product id: concurrent misses wait for the same upstream request (single flight). */
const inflight = new Map<string, Promise<string | null>>();

/** The upstream's answer for a product (its JSON text, or null for 404), stored with a TTL. */
async function fetchAndStore(id: string): Promise<string | null> {
  // A miss that raced with a fill that just finished finds the entry here instead of asking again.
  const again = await redis.get(cacheKey(id));
  if (again !== null) return again;
  const res = await fetch(`${upstream}/products/${encodeURIComponent(id)}`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`upstream answered ${res.status}`);
  const body = await res.text();
  await redis.set(cacheKey(id), body, 'EX', ttlSeconds);
  return body;
}

/** Cache-aside: Redis first; on a miss, one upstream request per product however many readers wait. */
async function load(id: string): Promise<string | null> {
  const cached = await redis.get(cacheKey(id));
  if (cached !== null) return cached;
  let pending = inflight.get(id);
  if (!pending) {
    pending = fetchAndStore(id).finally(() => inflight.delete(id));
    inflight.set(id, pending);
  }
  return pending;
}

/** A strong validator derived from the representation: it changes whenever the product does. */
function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** If-None-Match uses the weak comparison: W/"x" and "x" match; a list matches if any member does; * matches any. */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.replace(/^W\//, '');
  const tags = header.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) => opaque(tag) === opaque(etag));
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function getProduct(id: string, req: IncomingMessage, res: ServerResponse) {
  const body = await load(id);
  if (body === null) return sendJson(res, 404, { error: `no product ${id}` }, { 'Cache-Control': 'no-store' });
  const etag = etagOf(body);
  const headers = { ETag: etag, 'Cache-Control': `public, max-age=${ttlSeconds}` };
  if (noneMatch(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    return res.end();
  }
  return sendJson(res, 200, body, headers);
}

async function putProduct(id: string, req: IncomingMessage, res: ServerResponse) {
  const text = await readBody(req);
  try {
    JSON.parse(text);
  } catch {
    return sendJson(res, 400, { error: 'the body is not valid JSON' }, { 'Cache-Control': 'no-store' });
  }
  // Write to the source of truth first, then drop the cached copy: a read in between can only cache the
  // old value before the write, and the delete after the write removes it.
  const answer = await fetch(`${upstream}/products/${encodeURIComponent(id)}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: text });
  const body = await answer.text();
  if (answer.ok) await redis.del(cacheKey(id));
  return sendJson(res, answer.status, body, { 'Cache-Control': 'no-store' });
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
  const match = /^\/products\/([^/]+)$/.exec(url.pathname);
  if (!match) return sendJson(res, 404, { error: `no route for ${url.pathname}` });
  const id = decodeSegment(match[1]);
  if (req.method === 'GET') return getProduct(id, req, res);
  if (req.method === 'PUT') return putProduct(id, req, res);
  res.setHeader('Allow', 'GET, PUT');
  return sendJson(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('request failed:', (err as Error).message);
    if (!res.headersSent) sendJson(res, 502, { error: 'the upstream service failed' });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});

process.on('SIGTERM', () => {
  server.close(() => void redis.quit().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
