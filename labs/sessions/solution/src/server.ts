// Cookie sessions kept in Redis, by hand: node:http + ioredis, no session library.
//   sess:<id>  ->  {"username": "...", "createdAt": <ms>}   with a TTL = min(idle timeout, time left until the absolute timeout)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Redis } from 'ioredis';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(1);
  }
  return value;
}

function seconds(name: string): number {
  const n = Number(requiredEnv(name));
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number of seconds`);
    process.exit(1);
  }
  return n;
}

const port = Number(process.env.PORT ?? 3000);
const IDLE_MS = seconds('SESSION_IDLE_TIMEOUT_SECONDS') * 1000;
const ABSOLUTE_MS = seconds('SESSION_ABSOLUTE_TIMEOUT_SECONDS') * 1000;
const users = JSON.parse(requiredEnv('USERS')) as { username: string; password: string }[];
const redis = new Redis(requiredEnv('REDIS_URL'));
redis.on('error', (err) => console.error('redis:', err.message));

interface Session {
  username: string;
  /** When the user logged in (ms since the epoch): the absolute timeout counts from here. */
  createdAt: number;
}

const COOKIE = 'sid';
/** 32 random bytes from the OS CSPRNG: 256 bits, 43 base64url characters. */
const newId = () => randomBytes(32).toString('base64url');
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** How long the session may live from now: the idle timeout, cut short by the absolute one. */
function ttlMs(session: Session, now = Date.now()): number {
  return Math.min(IDLE_MS, session.createdAt + ABSOLUTE_MS - now);
}

// Redis is the only copy: every request reads it, so a deleted or expired key ends the session everywhere.
const store = {
  key: (id: string) => `sess:${id}`,
  async get(id: string): Promise<Session | undefined> {
    const raw = await redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as Session) : undefined;
  },
  async create(id: string, session: Session): Promise<void> {
    await redis.set(this.key(id), JSON.stringify(session), 'PX', ttlMs(session), 'NX');
  },
  /** Slides the idle timeout; false when the key is already gone. */
  async touch(id: string, ms: number): Promise<boolean> {
    return (await redis.pexpire(this.key(id), ms)) === 1;
  },
  async destroy(id: string): Promise<void> {
    await redis.del(this.key(id));
  },
};

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] ??= part.slice(eq + 1).trim();
  }
  return out;
}

/** The valid session the request carries (its idle timeout slid forward), or undefined. */
async function currentSession(req: IncomingMessage): Promise<{ id: string; session: Session } | undefined> {
  const id = cookies(req)[COOKIE];
  if (!id || !ID_SHAPE.test(id)) return undefined;
  const session = await store.get(id);
  if (!session) return undefined;
  const left = ttlMs(session);
  if (left <= 0) {
    await store.destroy(id); // past the absolute timeout, however active it was
    return undefined;
  }
  if (!(await store.touch(id, left))) return undefined;
  return { id, session };
}

/** Behind a TLS-terminating proxy, X-Forwarded-Proto says how the client reached us. */
function overHttps(req: IncomingMessage): boolean {
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0].trim().toLowerCase();
  return first === 'https';
}

function sessionCookie(req: IncomingMessage, value: string, extra = ''): string {
  return `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax${overHttps(req) ? '; Secure' : ''}${extra}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
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

const digest = (s: string) => createHash('sha256').update(s).digest();
function checkPassword(username: unknown, password: unknown): string | undefined {
  if (typeof username !== 'string' || typeof password !== 'string') return undefined;
  const user = users.find((u) => u.username === username);
  // Compare digests in constant time; do the work even for unknown users.
  const ok = timingSafeEqual(digest(password), digest(user?.password ?? randomBytes(16).toString('hex')));
  return user && ok ? user.username : undefined;
}

async function login(req: IncomingMessage, res: ServerResponse) {
  let body: { username?: unknown; password?: unknown };
  try {
    body = JSON.parse(await readBody(req)) ?? {};
  } catch {
    return sendJson(res, 400, { error: 'the body must be JSON: {"username": "...", "password": "..."}' });
  }
  const username = checkPassword(body.username, body.password);
  if (!username) return sendJson(res, 401, { error: 'wrong username or password' });

  // Session fixation: never keep (or adopt) the id the request came with. Whatever it names ends here,
  // and the user gets a brand-new id.
  const carried = cookies(req)[COOKIE];
  if (carried && ID_SHAPE.test(carried)) await store.destroy(carried);
  const id = newId();
  await store.create(id, { username, createdAt: Date.now() });
  return sendJson(res, 200, { username }, { 'Set-Cookie': sessionCookie(req, id) });
}

async function me(req: IncomingMessage, res: ServerResponse) {
  const current = await currentSession(req);
  if (!current) return sendJson(res, 401, { error: 'not logged in' });
  return sendJson(res, 200, { username: current.session.username });
}

async function logout(req: IncomingMessage, res: ServerResponse) {
  const id = cookies(req)[COOKIE];
  if (id && ID_SHAPE.test(id)) await store.destroy(id);
  res.writeHead(204, { 'Set-Cookie': sessionCookie(req, '', '; Max-Age=0') });
  res.end();
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
  const route = `${req.method} ${pathname}`;
  if (route === 'POST /login') return login(req, res);
  if (route === 'GET /me') return me(req, res);
  if (route === 'POST /logout') return logout(req, res);
  return sendJson(res, 404, { error: `no route for ${route}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));

process.on('SIGTERM', () => {
  server.close(() => void redis.quit().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
