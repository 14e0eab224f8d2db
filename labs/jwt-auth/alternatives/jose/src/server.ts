// The same contract with the usual libraries: Express for routing, jose for every JOSE operation.
import { createHash, createPublicKey, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createLocalJWKSet, exportJWK, importPKCS8, jwtVerify, SignJWT, type JWTPayload } from 'jose';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`The environment variable ${name} is required.`);
  return value;
};
const PEM = env('JWT_PRIVATE_KEY');
const KID = env('JWT_KID');
const ISSUER = env('JWT_ISSUER');
const AUDIENCE = env('JWT_AUDIENCE');
const TTL = Number(env('ACCESS_TOKEN_TTL_SECONDS'));
const USERS = JSON.parse(env('USERS')) as { username: string; password: string; roles: string[] }[];

const signingKey = await importPKCS8(PEM, 'RS256');
const jwks = { keys: [{ ...(await exportJWK(createPublicKey(PEM))), kid: KID, use: 'sig', alg: 'RS256' }] };
// Verification goes through the key set: the kid picks the key, and a kid not in the set is an error.
const keySet = createLocalJWKSet(jwks);

async function accessToken(user: (typeof USERS)[number]) {
  return new SignJWT({ roles: user.roles })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: KID })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(user.username)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${TTL}s`)
    .sign(signingKey);
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const refreshTokens = new Map<string, { username: string; used: boolean }>();

async function tokenPair(user: (typeof USERS)[number]) {
  const refresh = randomBytes(32).toString('base64url');
  refreshTokens.set(hash(refresh), { username: user.username, used: false });
  return { access_token: await accessToken(user), token_type: 'Bearer', expires_in: TTL, refresh_token: refresh };
}

type Authed = Request & { claims?: JWTPayload & { roles?: unknown } };

async function requireToken(req: Authed, res: Response, next: NextFunction) {
  const [scheme, token] = (req.get('authorization') ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    res.set('WWW-Authenticate', 'Bearer realm="api"').status(401).json({ error: 'a Bearer token is required' });
    return;
  }
  try {
    const { payload } = await jwtVerify(token, keySet, {
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 30,
    });
    req.claims = payload;
    next();
  } catch {
    res.set('WWW-Authenticate', 'Bearer realm="api", error="invalid_token"').status(401).json({ error: 'invalid token' });
  }
}

const roles = (req: Authed) => (Array.isArray(req.claims?.roles) ? (req.claims!.roles as unknown[]) : []);

const app = express();
app.disable('x-powered-by');
app.use(express.json());

app.post('/login', async (req, res) => {
  const { username, password } = req.body ?? {};
  const user = USERS.find((u) => u.username === username);
  const ok = user && typeof password === 'string' && timingSafeEqual(Buffer.from(hash(password)), Buffer.from(hash(user.password)));
  if (!user || !ok) return void res.status(401).json({ error: 'wrong username or password' });
  res.set('Cache-Control', 'no-store').json(await tokenPair(user));
});

app.post('/refresh', async (req, res) => {
  const token = typeof req.body?.refresh_token === 'string' ? req.body.refresh_token : '';
  const record = refreshTokens.get(hash(token));
  const user = record && !record.used && USERS.find((u) => u.username === record.username);
  if (!record || !user) return void res.status(401).json({ error: 'invalid refresh token' });
  record.used = true;
  res.set('Cache-Control', 'no-store').json(await tokenPair(user));
});

app.get('/.well-known/jwks.json', (_req, res) => void res.json(jwks));

app.get('/me', requireToken, (req: Authed, res) => void res.json({ sub: req.claims!.sub, roles: roles(req) }));

app.get('/admin/users', requireToken, (req: Authed, res) => {
  if (!roles(req).includes('admin')) return void res.status(403).json({ error: 'the admin role is required' });
  res.json({ users: USERS.map((u) => u.username) });
});

app.use((_req, res) => void res.status(404).json({ error: 'not found' }));

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
