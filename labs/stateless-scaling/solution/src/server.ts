// Stateless: every piece of state lives in the Redis database all instances share, and every
// read-modify-write is one atomic Redis command. The process itself only holds connections.
import { randomBytes } from 'node:crypto';
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
const instance = process.env.INSTANCE_ID ?? '1';
const users = JSON.parse(process.env.USERS ?? '{}') as Record<string, string>;
const rateLimit = Number(process.env.RATE_LIMIT ?? 5);
const rateWindowS = Number(process.env.RATE_WINDOW_S ?? 60);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
redis.on('error', (err) => console.error('redis:', err.message));

const SESSION_TTL_S = 24 * 3600;
const MAX_NOTE = 64 * 1024;

function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(req.headers.authorization ?? '');
  return m?.[1];
}

const sessionKey = (token: string) => `session:${token}`;

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
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (method === 'GET' && path === '/health') return json(res, 200, { status: 'ok', instance });

  if (method === 'POST' && path === '/login') {
    const body = await readBody(req, 64 * 1024);
    let creds: { user?: unknown; password?: unknown } = {};
    try {
      creds = JSON.parse(body?.toString() ?? '');
    } catch {
      return json(res, 400, { error: 'JSON body {"user", "password"} expected' });
    }
    const { user, password } = creds ?? {};
    if (typeof user !== 'string' || typeof password !== 'string' || !Object.hasOwn(users, user) || users[user] !== password) {
      return json(res, 401, { error: 'wrong user or password' });
    }
    const token = randomBytes(32).toString('base64url');
    await redis.set(sessionKey(token), user, 'EX', SESSION_TTL_S);
    return json(res, 200, { token });
  }

  if (path === '/me' && method === 'GET') {
    const token = bearer(req);
    const user = token ? await redis.get(sessionKey(token)) : null;
    if (!user) return json(res, 401, { error: 'log in first' });
    return json(res, 200, { user, instance });
  }

  if (path === '/logout' && method === 'POST') {
    const token = bearer(req);
    const deleted = token ? await redis.del(sessionKey(token)) : 0;
    if (!deleted) return json(res, 401, { error: 'not logged in' });
    return json(res, 204);
  }

  const counter = /^\/counters\/([^/]+)(\/increment)?$/.exec(path);
  if (counter) {
    const name = decodeSegment(counter[1]!);
    if (counter[2] && method === 'POST') return json(res, 200, { name, value: await redis.incr(`counter:${name}`) });
    if (!counter[2] && method === 'GET') return json(res, 200, { name, value: Number((await redis.get(`counter:${name}`)) ?? 0) });
  }

  if (path === '/limited' && method === 'GET') {
    const client = req.headers['x-client-id'];
    if (typeof client !== 'string' || !client) return json(res, 400, { error: 'X-Client-Id required' });
    const key = `ratelimit:${client}`;
    // One round trip, atomic: the count and, for the first request of a window, its expiry.
    const [[, count], [, ttl]] = (await redis.multi().incr(key).expire(key, rateWindowS, 'NX').ttl(key).exec()) as [[null, number], [null, number], [null, number]];
    if (count <= rateLimit) return json(res, 200, { ok: true });
    return json(res, 429, { error: 'rate limit exceeded' }, { 'retry-after': String(Math.max(1, ttl)) });
  }

  const note = /^\/notes\/([^/]+)$/.exec(path);
  if (note) {
    const key = `note:${decodeSegment(note[1]!)}`;
    if (method === 'PUT') {
      const body = await readBody(req, MAX_NOTE);
      if (!body) return json(res, 413, { error: 'a note is at most 64 KiB' });
      await redis.set(key, body); // acknowledged only once Redis has it
      return json(res, 204);
    }
    if (method === 'GET') {
      const text = await redis.getBuffer(key);
      if (text === null) return json(res, 404, { error: 'no such note' });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': text.length }).end(text);
      return;
    }
  }

  if (path === '/slow' && method === 'GET') {
    const ms = Math.min(5000, Math.max(0, Number(url.searchParams.get('ms')) || 0));
    await new Promise((r) => setTimeout(r, ms));
    return json(res, 200, { done: true });
  }

  json(res, 404, { error: 'not found' });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) json(res, 500, { error: 'internal error' });
    else res.destroy();
  });
});

server.listen(port, '0.0.0.0', () => console.log(`instance ${instance} listening on http://localhost:${port}`));

// Drain: stop accepting, let in-flight requests finish, then leave.
process.on('SIGTERM', () => {
  console.log(`instance ${instance}: SIGTERM, draining`);
  server.close(() => {
    redis.quit().finally(() => process.exit(0));
  });
  server.closeIdleConnections();
});
