// The same contract with the usual libraries: express-session keeps the session, connect-redis stores it in
// Redis under sess:<id> (its default prefix), and two small additions give what express-session lacks: an
// absolute timeout and a key TTL that never outlives it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { Redis } from 'ioredis';

declare module 'express-session' {
  interface SessionData {
    username: string;
    /** When the user logged in (ms): the absolute timeout counts from here. */
    loginAt: number;
  }
}

const port = Number(process.env.PORT ?? 3000);
const IDLE_S = Number(process.env.SESSION_IDLE_TIMEOUT_SECONDS);
const ABSOLUTE_S = Number(process.env.SESSION_ABSOLUTE_TIMEOUT_SECONDS);
const secret = process.env.SESSION_SECRET;
if (!(IDLE_S > 0) || !(ABSOLUTE_S > 0) || !secret || !process.env.REDIS_URL) {
  console.error('REDIS_URL, SESSION_SECRET, SESSION_IDLE_TIMEOUT_SECONDS and SESSION_ABSOLUTE_TIMEOUT_SECONDS are required');
  process.exit(1);
}
const users = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[];

const redis = new Redis(process.env.REDIS_URL);
redis.on('error', (err) => console.error('redis:', err.message));

/** Seconds the key may live from now: the idle timeout, cut short by the absolute one. */
function ttlSeconds(data: { loginAt?: number }): number {
  const left = data.loginAt === undefined ? IDLE_S : ABSOLUTE_S - (Date.now() - data.loginAt) / 1000;
  return Math.ceil(Math.min(IDLE_S, left));
}

const app = express();
app.disable('x-powered-by');
// Behind a TLS-terminating proxy: req.secure follows X-Forwarded-Proto, so `secure: 'auto'` sets Secure.
app.set('trust proxy', true);
app.use(express.json());
app.use(
  session({
    name: 'sid',
    secret,
    store: new RedisStore({ client: redis, prefix: 'sess:', ttl: (s) => ttlSeconds(s as { loginAt?: number }) }),
    resave: false,
    saveUninitialized: false, // only a login creates a session
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', path: '/' },
  }),
);

// The absolute timeout: express-session only knows the idle one (the store's TTL, touched on each request).
app.use((req: Request, res: Response, next: NextFunction) => {
  const at = req.session.loginAt;
  // regenerate() deletes the old session and leaves an empty one (never saved) in its place.
  if (at !== undefined && Date.now() - at >= ABSOLUTE_S * 1000) return req.session.regenerate((err) => next(err));
  next();
});

const digest = (s: string) => createHash('sha256').update(s).digest();

app.post('/login', (req, res, next) => {
  const { username, password } = (req.body ?? {}) as { username?: unknown; password?: unknown };
  const user = users.find((u) => u.username === username);
  const ok = typeof password === 'string' && timingSafeEqual(digest(password), digest(user?.password ?? randomBytes(16).toString('hex')));
  if (!user || !ok) return void res.status(401).json({ error: 'wrong username or password' });
  // regenerate(): the old session (if any) is destroyed and a new random id issued (session fixation).
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = user.username;
    req.session.loginAt = Date.now();
    req.session.save((err2) => (err2 ? next(err2) : res.json({ username: user.username })));
  });
});

app.get('/me', (req, res) => {
  const username = req.session.username;
  if (!username) return void res.status(401).json({ error: 'not logged in' });
  res.json({ username });
});

app.post('/logout', (req, res, next) => {
  const done = () => {
    res.clearCookie('sid', { path: '/', httpOnly: true, sameSite: 'lax' });
    res.status(204).end();
  };
  req.session.destroy((err) => (err ? next(err) : done()));
});

app.use((req, res) => void res.status(404).json({ error: `no route for ${req.method} ${req.path}` }));

const server = app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));

process.on('SIGTERM', () => {
  server.close(() => void redis.quit().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1500).unref();
});
