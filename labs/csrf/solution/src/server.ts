// Reference solution, hand-written with node:http: synchronizer tokens stored in the session, plus Fetch
// Metadata and Origin checks (see alternatives/csrf-csrf for the signed double-submit pattern with a library).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const APP_ORIGIN = process.env.APP_ORIGIN ?? `http://localhost:${port}`;
const USERS = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[];

interface Session {
  username: string;
  csrfToken: string;
}
const sessions = new Map<string, Session>();
const emails = new Map(USERS.map((u) => [u.username, `${u.username}@example.com`]));

const newSecret = () => randomBytes(32).toString('base64url');
const digest = (s: string) => createHash('sha256').update(s).digest();
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function sessionOf(req: IncomingMessage): Session | undefined {
  const sid = cookies(req).sid;
  return sid ? sessions.get(sid) : undefined;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
    try {
      return new URLSearchParams(JSON.parse(text));
    } catch {
      return new URLSearchParams();
    }
  }
  return new URLSearchParams(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function accountPage(session: Session): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Account</title></head><body>
<h1>${escape(session.username)}</h1><p>Email: ${escape(emails.get(session.username) ?? '')}</p>
<form method="post" action="/account/email">
  <input type="hidden" name="csrf_token" value="${escape(session.csrfToken)}">
  <input type="email" name="email" required> <button>Change email</button>
</form></body></html>`;
}

/** Defence in depth for unsafe methods: browsers say where a request comes from; believe them when they do. */
function crossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== APP_ORIGIN) return true;
  return false;
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
  const method = req.method ?? 'GET';

  if (pathname === '/login' && method === 'POST') {
    const body = await readForm(req);
    const user = USERS.find((u) => u.username === body.get('username'));
    const password = body.get('password');
    if (!user || password === null || !sameSecret(password, user.password)) return sendJson(res, 401, { error: 'wrong username or password' });
    const sid = newSecret();
    sessions.set(sid, { username: user.username, csrfToken: newSecret() });
    const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    res.writeHead(303, { Location: '/account', 'Set-Cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax${secure}` });
    return res.end();
  }

  const session = sessionOf(req);

  if (pathname === '/api/account' && method === 'GET') {
    if (!session) return sendJson(res, 401, { error: 'log in first' });
    return sendJson(res, 200, { username: session.username, email: emails.get(session.username) });
  }

  if (pathname === '/api/csrf-token' && method === 'GET') {
    if (!session) return sendJson(res, 401, { error: 'log in first' });
    return sendJson(res, 200, { csrf_token: session.csrfToken });
  }

  if (pathname === '/account' && method === 'GET') {
    if (!session) {
      res.writeHead(303, { Location: '/' });
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    return res.end(accountPage(session));
  }

  if (pathname === '/account/email') {
    if (method !== 'POST') return sendJson(res, 405, { error: 'use POST' }, { Allow: 'POST' });
    if (!session) return sendJson(res, 401, { error: 'log in first' });
    if (crossSite(req)) return sendJson(res, 403, { error: 'cross-site request refused' });
    const body = await readForm(req);
    const token = (req.headers['x-csrf-token'] as string | undefined) ?? body.get('csrf_token');
    if (!token || !sameSecret(token, session.csrfToken)) return sendJson(res, 403, { error: 'missing or invalid CSRF token' });
    const email = body.get('email') ?? '';
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) return sendJson(res, 400, { error: 'a valid email is required' });
    emails.set(session.username, email);
    res.writeHead(303, { Location: '/account' });
    return res.end();
  }

  if (pathname === '/' && method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in</title></head><body><h1>Log in</h1>
<form method="post" action="/login"><input name="username"> <input name="password" type="password"> <button>Log in</button></form></body></html>`);
  }

  return sendJson(res, 404, { error: `no route for ${method} ${pathname}` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
