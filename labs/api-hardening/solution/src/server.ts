// Reference solution, hand-written with node:http (see alternatives/express-helmet-cors for the same with
// Express, helmet and cors).
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? '';
const CORS_ORIGIN = process.env.CORS_ORIGIN ?? '';
const MAX_BODY_BYTES = Number(process.env.MAX_BODY_BYTES ?? 4096);
const SCOPES = new Set(['notes:read', 'notes:write']);

interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  /** The first characters of the key, to recognise it in a list; the rest exists only as a hash. */
  prefix: string;
  createdAt: string;
}
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const keysById = new Map<string, ApiKey & { hash: string }>();
const keysByHash = new Map<string, ApiKey & { hash: string }>();
const notes: { id: string; text: string }[] = [];

class TooLarge extends Error {}

/** Reads the body, counting bytes: over the limit (declared or actual) is a TooLarge, whatever the framing. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new TooLarge());
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<any> {
  const raw = await readBody(req);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Headers for every response: security headers always, CORS on /api/* for the allowed origin only. */
function commonHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = { 'X-Content-Type-Options': 'nosniff' };
  if (req.headers['x-forwarded-proto'] === 'https') headers['Strict-Transport-Security'] = 'max-age=31536000; includeSubDomains';
  if ((req.url ?? '').startsWith('/api/')) {
    headers.Vary = 'Origin';
    if (req.headers.origin === CORS_ORIGIN) headers['Access-Control-Allow-Origin'] = CORS_ORIGIN;
  }
  return headers;
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
  const all = { ...commonHeaders(req), ...headers };
  if (body === undefined) {
    res.writeHead(status, all);
    return res.end();
  }
  res.writeHead(status, { 'Content-Type': 'application/json', ...all });
  res.end(JSON.stringify(body));
}

function isAdmin(req: IncomingMessage): boolean {
  const given = createHash('sha256').update(req.headers.authorization ?? '').digest();
  const expected = createHash('sha256').update(`Bearer ${ADMIN_TOKEN}`).digest();
  return ADMIN_TOKEN !== '' && timingSafeEqual(given, expected);
}

/** The key's record if the request carries a valid key with `scope`; otherwise answers 401 or 403. */
function requireScope(req: IncomingMessage, res: ServerResponse, scope: string): ApiKey | undefined {
  const presented = req.headers['x-api-key'];
  const record = typeof presented === 'string' && presented ? keysByHash.get(sha256(presented)) : undefined;
  if (!record) {
    send(req, res, 401, { error: 'a valid X-API-Key is required' });
    return undefined;
  }
  if (!record.scopes.includes(scope)) {
    send(req, res, 403, { error: `this key lacks the ${scope} scope` });
    return undefined;
  }
  return record;
}

const publicView = ({ id, name, scopes, prefix, createdAt }: ApiKey) => ({ id, name, scopes, prefix, created_at: createdAt });

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

  // CORS preflight: answered before any authentication (browsers never send credentials on it).
  if (method === 'OPTIONS' && pathname.startsWith('/api/')) {
    const allowed = req.headers.origin === CORS_ORIGIN;
    return send(req, res, 204, undefined, allowed ? {
      'Access-Control-Allow-Methods': 'GET, POST',
      'Access-Control-Allow-Headers': 'Content-Type, X-API-Key',
      'Access-Control-Max-Age': '600',
    } : {});
  }

  if (pathname === '/admin/keys' && method === 'POST') {
    if (!isAdmin(req)) return send(req, res, 401, { error: 'admin token required' }, { 'WWW-Authenticate': 'Bearer' });
    const body = await readJson(req);
    const scopes = body?.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => SCOPES.has(s))) {
      return send(req, res, 400, { error: `scopes must be a non-empty subset of ${[...SCOPES].join(', ')}` });
    }
    const key = `nk_${randomBytes(32).toString('base64url')}`;
    const record = { id: randomUUID(), name: String(body?.name ?? ''), scopes: [...new Set<string>(scopes)], prefix: key.slice(0, 7), createdAt: new Date().toISOString(), hash: sha256(key) };
    keysById.set(record.id, record);
    keysByHash.set(record.hash, record);
    console.log(`created API key ${record.id} (${record.prefix}...) with scopes ${record.scopes.join(' ')}`);
    return send(req, res, 201, { ...publicView(record), key }, { 'Cache-Control': 'no-store', Location: `/admin/keys/${record.id}` });
  }

  if (pathname === '/admin/keys' && method === 'GET') {
    if (!isAdmin(req)) return send(req, res, 401, { error: 'admin token required' }, { 'WWW-Authenticate': 'Bearer' });
    return send(req, res, 200, { keys: [...keysById.values()].map(publicView) });
  }

  const keyPath = /^\/admin\/keys\/([^/]+)$/.exec(pathname);
  if (keyPath && method === 'DELETE') {
    if (!isAdmin(req)) return send(req, res, 401, { error: 'admin token required' }, { 'WWW-Authenticate': 'Bearer' });
    const record = keysById.get(decodeSegment(keyPath[1]));
    if (!record) return send(req, res, 404, { error: 'no such key' });
    keysById.delete(record.id);
    keysByHash.delete(record.hash);
    return send(req, res, 204);
  }

  if (pathname === '/api/notes' && method === 'GET') {
    if (!requireScope(req, res, 'notes:read')) return;
    return send(req, res, 200, { notes });
  }

  if (pathname === '/api/notes' && method === 'POST') {
    if (!requireScope(req, res, 'notes:write')) return;
    const body = await readJson(req);
    if (typeof body?.text !== 'string' || body.text === '') return send(req, res, 422, { error: '"text" must be a non-empty string' });
    const note = { id: randomUUID(), text: body.text };
    notes.push(note);
    return send(req, res, 201, note, { Location: `/api/notes/${note.id}` });
  }

  return send(req, res, 404, { error: `no route for ${method} ${pathname}` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (err instanceof TooLarge) {
      if (!res.headersSent) send(req, res, 413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` }, { Connection: 'close' });
      req.resume(); // discard the rest of the upload
      return;
    }
    console.error(err);
    if (!res.headersSent) send(req, res, 500, { error: 'internal error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
