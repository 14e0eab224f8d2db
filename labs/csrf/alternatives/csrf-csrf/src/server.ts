// The same contract with the usual libraries: Express, cookie-parser and csrf-csrf (the signed double-submit
// cookie pattern: the token is an HMAC over the session id, so it only works with the session it was made for).
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import cookieParser from 'cookie-parser';
import { doubleCsrf } from 'csrf-csrf';
import express, { type NextFunction, type Request, type Response } from 'express';

const APP_ORIGIN = process.env.APP_ORIGIN ?? 'http://localhost:3000';
const USERS = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[];
const SECRET = randomBytes(32).toString('hex');
const sessions = new Map<string, string>(); // sid -> username
const emails = new Map(USERS.map((u) => [u.username, `${u.username}@example.com`]));

const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
  getSecret: () => SECRET,
  getSessionIdentifier: (req) => req.cookies?.sid ?? '',
  cookieName: 'csrf',
  cookieOptions: { sameSite: 'strict', path: '/', secure: false, httpOnly: true },
  getCsrfTokenFromRequest: (req) => (req.headers['x-csrf-token'] as string | undefined) ?? req.body?.csrf_token,
});

const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

function requireSession(req: Request, res: Response, next: NextFunction) {
  const username = sessions.get(req.cookies?.sid ?? '');
  if (!username) return void res.status(401).json({ error: 'log in first' });
  res.locals.username = username;
  next();
}

/** Fetch Metadata + Origin: refuse cross-site state changes whatever the token says. */
function sameOriginOnly(req: Request, res: Response, next: NextFunction) {
  const site = req.get('sec-fetch-site');
  const origin = req.get('origin');
  if ((site && site !== 'same-origin' && site !== 'none') || (origin !== undefined && origin !== APP_ORIGIN)) {
    return void res.status(403).json({ error: 'cross-site request refused' });
  }
  next();
}

const app = express();
app.disable('x-powered-by');
app.use(cookieParser());
app.use(express.urlencoded({ extended: false }));

app.post('/login', (req, res) => {
  const user = USERS.find((u) => u.username === req.body?.username);
  if (!user || typeof req.body?.password !== 'string' || !sameSecret(req.body.password, user.password)) {
    return void res.status(401).json({ error: 'wrong username or password' });
  }
  const sid = randomBytes(32).toString('base64url');
  sessions.set(sid, user.username);
  res.cookie('sid', sid, { httpOnly: true, sameSite: 'lax', path: '/', secure: req.get('x-forwarded-proto') === 'https' });
  res.status(204).end();
});

app.get('/api/account', requireSession, (_req, res) => {
  res.json({ username: res.locals.username, email: emails.get(res.locals.username) });
});

app.get('/api/csrf-token', requireSession, (req, res) => {
  res.json({ csrf_token: generateCsrfToken(req, res) });
});

app.post('/account/email', requireSession, sameOriginOnly, doubleCsrfProtection, (req, res) => {
  const email = typeof req.body?.email === 'string' ? req.body.email : '';
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) return void res.status(400).json({ error: 'a valid email is required' });
  emails.set(res.locals.username, email);
  res.json({ username: res.locals.username, email });
});
app.all('/account/email', (_req, res) => void res.set('Allow', 'POST').status(405).json({ error: 'use POST' }));

app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
app.use((err: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
  res.status(err.status ?? 500).json({ error: err.status === 403 ? 'missing or invalid CSRF token' : 'internal error' });
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
