// oauth2-server, reference solution: node:http and jose. Authorization code with PKCE S256 only, exact
// redirect_uri matching, single-use codes bound to client, redirect URI and challenge, refresh token
// rotation with reuse detection (a used refresh token or code revokes its whole grant), JWT access tokens
// (ES256) published in a JWKS, and RFC 6749 errors as JSON with Cache-Control: no-store.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose';

const port = Number(process.env.PORT ?? 3000);
const ISSUER = `http://127.0.0.1:${port}`;
const TTL = Number(process.env.ACCESS_TOKEN_TTL_SECONDS ?? 600);
const CODE_TTL_MS = 60_000;

interface Client {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
}
const clients = new Map((JSON.parse(process.env.CLIENTS ?? '[]') as Client[]).map((c) => [c.client_id, c]));
const users = new Map((JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[]).map((u) => [u.username, u.password]));

const KID = randomBytes(8).toString('hex');
const { publicKey, privateKey } = await generateKeyPair('ES256');
const publicJwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };

interface Code {
  clientId: string;
  redirectUri: string;
  challenge: string;
  username: string;
  expiresAt: number;
  used: boolean;
  grantId: string;
}
interface Grant {
  clientId: string;
  username: string;
  revoked: boolean;
}
interface Refresh {
  grantId: string;
  used: boolean;
}
const sessions = new Map<string, string>(); // session id -> username
const codes = new Map<string, Code>();
const grants = new Map<string, Grant>();
const refreshTokens = new Map<string, Refresh>(); // sha256(token) -> record

const token = () => randomBytes(32).toString('base64url');
const hash = (s: string) => createHash('sha256').update(s).digest('hex');

function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function html(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Sign in</title>${body}`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Every token endpoint answer: JSON, never cached. */
function tokenReply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  send(res, status, body, { 'Cache-Control': 'no-store', Pragma: 'no-cache', ...headers });
}

function oauthError(res: ServerResponse, error: string, description: string, status = 400, headers: Record<string, string> = {}) {
  tokenReply(res, status, { error, error_description: description }, headers);
}

/** Parameters as a map, or the name of one given more than once (RFC 6749 3.1: parameters must not repeat). */
function params(search: URLSearchParams): { map: Map<string, string>; repeated?: string } {
  const map = new Map<string, string>();
  for (const [k, v] of search) {
    if (map.has(k)) return { map, repeated: k };
    map.set(k, v);
  }
  return { map };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function redirectWith(res: ServerResponse, redirectUri: string, values: Record<string, string | undefined>) {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(values)) if (v !== undefined) url.searchParams.append(k, v);
  res.writeHead(302, { Location: url.href, 'Cache-Control': 'no-store' });
  res.end();
}

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function authorize(req: IncomingMessage, res: ServerResponse, url: URL) {
  const { map: p, repeated } = params(url.searchParams);
  if (repeated) return html(res, 400, `<p>Invalid request: the parameter ${escapeHtml(repeated)} is given more than once.</p>`);
  const client = clients.get(p.get('client_id') ?? '');
  if (!client) return html(res, 400, '<p>Unknown client.</p>');
  const redirectUri = p.get('redirect_uri');
  // Exact string comparison with a registered URI: never a prefix, never normalised.
  if (redirectUri === undefined || !client.redirect_uris.includes(redirectUri)) return html(res, 400, '<p>This redirect_uri is not registered for the client.</p>');
  const state = p.get('state');
  if (p.get('response_type') !== 'code') return redirectWith(res, redirectUri, { error: 'unsupported_response_type', state });
  const challenge = p.get('code_challenge');
  if (challenge === undefined || !CHALLENGE.test(challenge)) return redirectWith(res, redirectUri, { error: 'invalid_request', error_description: 'code_challenge (S256) is required', state });
  if (p.get('code_challenge_method') !== 'S256') return redirectWith(res, redirectUri, { error: 'invalid_request', error_description: 'only code_challenge_method=S256 is supported', state });

  const username = sessions.get(cookie(req, 'sid') ?? '');
  if (!username) {
    const returnTo = `${url.pathname}${url.search}`;
    return html(
      res,
      200,
      `<form method="post" action="/login"><input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">` +
        '<label>Username <input name="username"></label> <label>Password <input name="password" type="password"></label> <button>Sign in and allow</button></form>',
    );
  }
  const grantId = token();
  const code = token();
  codes.set(code, { clientId: client.client_id, redirectUri, challenge, username, expiresAt: Date.now() + CODE_TTL_MS, used: false, grantId });
  redirectWith(res, redirectUri, { code, state, iss: ISSUER });
}

async function login(req: IncomingMessage, res: ServerResponse) {
  const form = new URLSearchParams(await readBody(req));
  const username = form.get('username') ?? '';
  const password = users.get(username);
  const returnTo = form.get('return_to') ?? '';
  // Only back to our own authorization endpoint: never an absolute or protocol-relative URL.
  if (!returnTo.startsWith('/authorize?')) return html(res, 400, '<p>Invalid return_to.</p>');
  if (password === undefined || !safeEqual(password, form.get('password') ?? '')) return html(res, 401, '<p>Wrong username or password.</p>');
  const sid = token();
  sessions.set(sid, username);
  res.writeHead(303, { Location: returnTo, 'Set-Cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax` });
  res.end();
}

/** The authenticated client, or an error already sent. */
function authenticateClient(req: IncomingMessage, res: ServerResponse, p: Map<string, string>): Client | undefined {
  const header = req.headers.authorization;
  let id: string | undefined;
  let secret: string | undefined;
  const basic = header !== undefined && /^basic /i.test(header);
  if (basic) {
    const decoded = Buffer.from(header!.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return undefined;
      }
    };
    if (colon >= 0) {
      id = dec(decoded.slice(0, colon));
      secret = dec(decoded.slice(colon + 1));
    }
    if (p.has('client_secret')) id = undefined; // two authentication methods at once
  } else {
    id = p.get('client_id');
    secret = p.get('client_secret');
  }
  const client = id === undefined ? undefined : clients.get(id);
  const ok = client !== undefined && (client.client_secret === undefined ? secret === undefined && !basic : secret !== undefined && safeEqual(secret, client.client_secret));
  if (!ok) {
    oauthError(res, 'invalid_client', 'client authentication failed', 401, basic ? { 'WWW-Authenticate': 'Basic realm="token"' } : {});
    return undefined;
  }
  if (p.has('client_id') && p.get('client_id') !== client!.client_id) {
    oauthError(res, 'invalid_client', 'client_id does not match the authenticated client', 401);
    return undefined;
  }
  return client;
}

function revokeGrant(grantId: string) {
  const grant = grants.get(grantId);
  if (grant) grant.revoked = true;
}

async function issue(res: ServerResponse, grantId: string) {
  const grant = grants.get(grantId)!;
  const access = await new SignJWT({ client_id: grant.clientId, gid: grantId })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(ISSUER)
    .setSubject(grant.username)
    .setIssuedAt()
    .setExpirationTime(`${TTL}s`)
    .setJti(randomBytes(12).toString('hex'))
    .sign(privateKey);
  const refresh = token();
  refreshTokens.set(hash(refresh), { grantId, used: false });
  tokenReply(res, 200, { access_token: access, token_type: 'Bearer', expires_in: TTL, refresh_token: refresh });
}

async function tokenEndpoint(req: IncomingMessage, res: ServerResponse) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const raw = await readBody(req);
  if (type !== 'application/x-www-form-urlencoded') return oauthError(res, 'invalid_request', 'send the parameters form-encoded');
  const { map: p, repeated } = params(new URLSearchParams(raw));
  if (repeated) return oauthError(res, 'invalid_request', `the parameter ${repeated} is given more than once`);
  const client = authenticateClient(req, res, p);
  if (!client) return;
  const grantType = p.get('grant_type');
  if (grantType === undefined) return oauthError(res, 'invalid_request', 'grant_type is required');

  if (grantType === 'authorization_code') {
    const code = codes.get(p.get('code') ?? '');
    if (!code || code.clientId !== client.client_id) return oauthError(res, 'invalid_grant', 'unknown authorization code');
    if (code.used) {
      // A code presented twice: someone else may hold it. Revoke what the first use issued (RFC 6749 4.1.2).
      revokeGrant(code.grantId);
      return oauthError(res, 'invalid_grant', 'authorization code already used');
    }
    if (Date.now() > code.expiresAt) return oauthError(res, 'invalid_grant', 'authorization code expired');
    if (p.get('redirect_uri') !== code.redirectUri) return oauthError(res, 'invalid_grant', 'redirect_uri does not match the authorization request');
    const verifier = p.get('code_verifier') ?? '';
    if (!VERIFIER.test(verifier)) return oauthError(res, 'invalid_grant', 'code_verifier must be 43 to 128 unreserved characters');
    if (createHash('sha256').update(verifier, 'ascii').digest('base64url') !== code.challenge) return oauthError(res, 'invalid_grant', 'code_verifier does not match the code_challenge');
    code.used = true;
    grants.set(code.grantId, { clientId: client.client_id, username: code.username, revoked: false });
    return issue(res, code.grantId);
  }

  if (grantType === 'refresh_token') {
    const record = refreshTokens.get(hash(p.get('refresh_token') ?? ''));
    const grant = record && grants.get(record.grantId);
    if (!record || !grant || grant.clientId !== client.client_id) return oauthError(res, 'invalid_grant', 'unknown refresh token');
    if (grant.revoked) return oauthError(res, 'invalid_grant', 'refresh token revoked');
    if (record.used) {
      // Reuse of a rotated refresh token: revoke the whole family.
      revokeGrant(record.grantId);
      return oauthError(res, 'invalid_grant', 'refresh token already used');
    }
    record.used = true;
    return issue(res, record.grantId);
  }

  oauthError(res, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
}

async function me(req: IncomingMessage, res: ServerResponse) {
  const challenge = { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' };
  const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.headers.authorization ?? '');
  if (!m) return send(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer realm="api"' });
  try {
    const { payload } = await jwtVerify(m[1], publicKey, { algorithms: ['ES256'], issuer: ISSUER, audience: ISSUER, requiredClaims: ['exp', 'sub'] });
    const grant = grants.get(String(payload.gid));
    if (!grant || grant.revoked) return send(res, 401, { error: 'invalid_token' }, challenge);
    send(res, 200, { sub: payload.sub, client_id: payload.client_id });
  } catch {
    send(res, 401, { error: 'invalid_token' }, challenge);
  }
}

function metadata(res: ServerResponse) {
  send(res, 200, {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/authorize`,
    token_endpoint: `${ISSUER}/token`,
    jwks_uri: `${ISSUER}/jwks.json`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    authorization_response_iss_parameter_supported: true,
  });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', ISSUER);
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /.well-known/oauth-authorization-server') return metadata(res);
  if (route === 'GET /jwks.json') return send(res, 200, { keys: [publicJwk] });
  if (route === 'GET /authorize') return authorize(req, res, url);
  if (route === 'POST /login') return login(req, res);
  if (route === 'POST /token') return tokenEndpoint(req, res);
  if (route === 'GET /me') return me(req, res);
  send(res, 404, { error: 'not found' });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, (err as { status?: number }).status ?? 500, { error: 'server_error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`authorization server ${ISSUER}`));
