// A small app that works - as one process. The grader runs THREE instances of it behind a load balancer,
// and everything below that lives in this process's memory is invisible to the other two.
// Your job (README.md): move the state to the Redis database in REDIS_URL, make every update atomic there,
// acknowledge writes only once Redis has them, and drain on SIGTERM.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 3000);
const instance = process.env.INSTANCE_ID ?? '1';
const users = JSON.parse(process.env.USERS ?? '{}') as Record<string, string>;
const rateLimit = Number(process.env.RATE_LIMIT ?? 5);
const rateWindowS = Number(process.env.RATE_WINDOW_S ?? 60);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
redis.on('error', (err) => console.error('redis:', err.message));

// TODO: all of this is per process.
const sessions = new Map<string, string>(); // token -> user
const counters = new Map<string, number>();
const windows = new Map<string, { count: number; resetAt: number }>(); // client -> its rate-limit window
const notes = new Map<string, Buffer>();

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
  return /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (method === 'GET' && path === '/health') return json(res, 200, { status: 'ok', instance });

  if (method === 'POST' && path === '/login') {
    let creds: { user?: unknown; password?: unknown } = {};
    try {
      creds = JSON.parse((await readBody(req, 64 * 1024))?.toString() ?? '');
    } catch {
      return json(res, 400, { error: 'JSON body {"user", "password"} expected' });
    }
    const { user, password } = creds ?? {};
    if (typeof user !== 'string' || typeof password !== 'string' || !Object.hasOwn(users, user) || users[user] !== password) {
      return json(res, 401, { error: 'wrong user or password' });
    }
    const token = randomBytes(32).toString('base64url');
    sessions.set(token, user);
    return json(res, 200, { token });
  }

  if (path === '/me' && method === 'GET') {
    const user = sessions.get(bearer(req) ?? '');
    if (!user) return json(res, 401, { error: 'log in first' });
    return json(res, 200, { user, instance });
  }

  if (path === '/logout' && method === 'POST') {
    if (!sessions.delete(bearer(req) ?? '')) return json(res, 401, { error: 'not logged in' });
    return json(res, 204);
  }

  const counter = /^\/counters\/([^/]+)(\/increment)?$/.exec(path);
  if (counter) {
    const name = decodeURIComponent(counter[1]!);
    if (counter[2] && method === 'POST') {
      const value = (counters.get(name) ?? 0) + 1;
      counters.set(name, value);
      return json(res, 200, { name, value });
    }
    if (!counter[2] && method === 'GET') return json(res, 200, { name, value: counters.get(name) ?? 0 });
  }

  if (path === '/limited' && method === 'GET') {
    const client = req.headers['x-client-id'];
    if (typeof client !== 'string' || !client) return json(res, 400, { error: 'X-Client-Id required' });
    const now = Date.now();
    let w = windows.get(client);
    if (!w || w.resetAt <= now) windows.set(client, (w = { count: 0, resetAt: now + rateWindowS * 1000 }));
    w.count++;
    if (w.count <= rateLimit) return json(res, 200, { ok: true });
    return json(res, 429, { error: 'rate limit exceeded' }, { 'retry-after': String(Math.max(1, Math.ceil((w.resetAt - now) / 1000))) });
  }

  const note = /^\/notes\/([^/]+)$/.exec(path);
  if (note) {
    const id = decodeURIComponent(note[1]!);
    if (method === 'PUT') {
      const body = await readBody(req, 64 * 1024);
      if (!body) return json(res, 413, { error: 'a note is at most 64 KiB' });
      notes.set(id, body);
      return json(res, 204);
    }
    if (method === 'GET') {
      const text = notes.get(id);
      if (!text) return json(res, 404, { error: 'no such note' });
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

server.listen(port, '0.0.0.0', () => {
  console.log(`instance ${instance} listening on http://localhost:${port}`);
  void redis; // TODO: use it
});
// TODO: drain on SIGTERM (README, Shutdown).
