// The same contract with the usual libraries: Express (express.json with a byte limit), helmet (security
// headers) and cors (one allowed origin).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';

const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? '';
const CORS_ORIGIN = process.env.CORS_ORIGIN ?? '';
const MAX_BODY_BYTES = Number(process.env.MAX_BODY_BYTES ?? 4096);
const SCOPES = ['notes:read', 'notes:write'];

type KeyRecord = { id: string; name: string; scopes: string[]; created_at: string };
const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const keys = new Map<string, KeyRecord & { hash: string }>(); // id -> record (hash of the key, never the key)
const notes: { id: string; text: string }[] = [];

const app = express();
app.disable('x-powered-by');
app.use(helmet()); // nosniff, HSTS, and more
app.use('/api', cors({ origin: CORS_ORIGIN, methods: ['GET', 'POST'], allowedHeaders: ['Content-Type', 'X-API-Key'], maxAge: 600 }));
app.use(express.json({ limit: MAX_BODY_BYTES }));

function adminOnly(req: Request, res: Response, next: NextFunction) {
  if (!ADMIN_TOKEN || req.get('authorization') !== `Bearer ${ADMIN_TOKEN}`) return void res.status(401).json({ error: 'admin token required' });
  next();
}

function scope(needed: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const presented = req.get('x-api-key');
    const digest = presented ? hash(presented) : '';
    const record = [...keys.values()].find((k) => k.hash === digest);
    if (!record) return void res.status(401).json({ error: 'a valid X-API-Key is required' });
    if (!record.scopes.includes(needed)) return void res.status(403).json({ error: `missing scope ${needed}` });
    next();
  };
}

const view = ({ hash: _hash, ...rest }: KeyRecord & { hash: string }) => rest;

app.post('/admin/keys', adminOnly, (req, res) => {
  const scopes = req.body?.scopes;
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => SCOPES.includes(s))) {
    return void res.status(400).json({ error: 'unknown scopes' });
  }
  const key = randomBytes(32).toString('base64url');
  const record = { id: randomUUID(), name: String(req.body?.name ?? ''), scopes, created_at: new Date().toISOString(), hash: hash(key) };
  keys.set(record.id, record);
  res.status(201).set('Cache-Control', 'no-store').json({ ...view(record), key });
});
app.get('/admin/keys', adminOnly, (_req, res) => void res.json({ keys: [...keys.values()].map(view) }));
app.delete('/admin/keys/:id', adminOnly, (req, res) => {
  if (!keys.delete(String(req.params.id))) return void res.status(404).json({ error: 'no such key' });
  res.status(204).end();
});

app.get('/api/notes', scope('notes:read'), (_req, res) => void res.json({ notes }));
app.post('/api/notes', scope('notes:write'), (req, res) => {
  if (typeof req.body?.text !== 'string' || !req.body.text) return void res.status(422).json({ error: 'text required' });
  const note = { id: randomUUID(), text: req.body.text };
  notes.push(note);
  res.status(201).json(note);
});

app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
app.use((err: { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
  const status = err.type === 'entity.too.large' ? 413 : err.status && err.status < 500 ? err.status : 500;
  res.status(status).json({ error: status === 413 ? `body larger than ${MAX_BODY_BYTES} bytes` : 'request failed' });
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
