// Reference solution, hand-written with node:crypto only (see alternatives/jose for the same with a library).
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID, sign, timingSafeEqual, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`The environment variable ${name} is required.`);
    process.exit(1);
  }
  return value;
}

const port = Number(process.env.PORT ?? 3000);
const privateKey = createPrivateKey(required('JWT_PRIVATE_KEY'));
const publicKey = createPublicKey(privateKey);
const KID = required('JWT_KID');
const ISSUER = required('JWT_ISSUER');
const AUDIENCE = required('JWT_AUDIENCE');
const TTL = Number(required('ACCESS_TOKEN_TTL_SECONDS'));
const USERS = JSON.parse(required('USERS')) as { username: string; password: string; roles: string[] }[];
const LEEWAY_SECONDS = 30;

interface Claims {
  iss: string;
  aud: string | string[];
  sub: string;
  roles?: unknown;
  iat?: number;
  exp: number;
  nbf?: number;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

function signToken(claims: object): string {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: KID }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), privateKey))}`;
}

function parsePart(part: string): Record<string, any> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The whole security of the lab: the server decides the algorithm and the key, never the token. */
function verifyToken(token: string): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts;
  const header = parsePart(h);
  const payload = parsePart(p);
  if (!header || !payload) return undefined;
  if (header.alg !== 'RS256') return undefined;
  if (header.kid !== KID) return undefined;
  const signature = Buffer.from(s, 'base64url');
  if (!verify('sha256', Buffer.from(`${h}.${p}`), publicKey, signature)) return undefined;
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== 'number' || payload.exp <= now - LEEWAY_SECONDS) return undefined;
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + LEEWAY_SECONDS)) return undefined;
  if (payload.iss !== ISSUER) return undefined;
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.includes(AUDIENCE)) return undefined;
  if (typeof payload.sub !== 'string') return undefined;
  return payload as Claims;
}

function rolesOf(claims: Claims): string[] {
  return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
}

// Refresh tokens: opaque random strings, stored hashed, single use, grouped in families so that the replay
// of a used one revokes every token descended from the same login.
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const refreshTokens = new Map<string, { username: string; family: string; used: boolean }>();

function issueTokens(user: (typeof USERS)[number], family = randomUUID()) {
  const now = Math.floor(Date.now() / 1000);
  const accessToken = signToken({ iss: ISSUER, aud: AUDIENCE, sub: user.username, roles: user.roles, iat: now, exp: now + TTL, jti: randomUUID() });
  const refreshToken = randomBytes(32).toString('base64url');
  refreshTokens.set(sha256(refreshToken), { username: user.username, family, used: false });
  return { access_token: accessToken, token_type: 'Bearer', expires_in: TTL, refresh_token: refreshToken };
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** 401 with a Bearer challenge unless the request carries a valid access token. */
function authenticate(req: IncomingMessage, res: ServerResponse): Claims | undefined {
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(req.headers.authorization ?? '');
  if (!match) {
    sendJson(res, 401, { error: 'a Bearer access token is required' }, { 'WWW-Authenticate': 'Bearer realm="api"' });
    return undefined;
  }
  const claims = verifyToken(match[1]);
  if (!claims) {
    sendJson(res, 401, { error: 'invalid or expired access token' }, { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' });
    return undefined;
  }
  return claims;
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

  if (route === 'POST /login') {
    const body = await readJson(req);
    const user = USERS.find((u) => u.username === body?.username);
    if (!user || typeof body?.password !== 'string' || !sameSecret(body.password, user.password)) {
      return sendJson(res, 401, { error: 'wrong username or password' });
    }
    return sendJson(res, 200, issueTokens(user));
  }

  if (route === 'POST /refresh') {
    const body = await readJson(req);
    const token = typeof body?.refresh_token === 'string' ? body.refresh_token : '';
    const record = refreshTokens.get(sha256(token));
    const user = record && USERS.find((u) => u.username === record.username);
    if (!record || !user) return sendJson(res, 401, { error: 'unknown refresh token' });
    if (record.used) {
      // Reuse of a rotated token: someone else has a copy. Revoke the whole family.
      for (const [hash, r] of refreshTokens) if (r.family === record.family) refreshTokens.delete(hash);
      return sendJson(res, 401, { error: 'refresh token already used' });
    }
    record.used = true;
    return sendJson(res, 200, issueTokens(user, record.family));
  }

  if (route === 'GET /.well-known/jwks.json') {
    const { kty, n, e } = publicKey.export({ format: 'jwk' });
    return sendJson(res, 200, { keys: [{ kty, n, e, kid: KID, use: 'sig', alg: 'RS256' }] }, { 'Cache-Control': 'public, max-age=300' });
  }

  if (route === 'GET /me') {
    const claims = authenticate(req, res);
    if (!claims) return;
    return sendJson(res, 200, { sub: claims.sub, roles: rolesOf(claims) });
  }

  if (route === 'GET /admin/users') {
    const claims = authenticate(req, res);
    if (!claims) return;
    if (!rolesOf(claims).includes('admin')) {
      return sendJson(res, 403, { error: 'the admin role is required' }, { 'WWW-Authenticate': 'Bearer realm="api", error="insufficient_scope"' });
    }
    return sendJson(res, 200, { users: USERS.map((u) => u.username) });
  }

  return sendJson(res, 404, { error: `no route for ${route}` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
