import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

// A layer-7 load balancer over the backends in BACKENDS: round robin over the backends in rotation, active
// health checks (HEALTH_PATH every HEALTH_INTERVAL_MS), passive ejection on connection errors, one retry on
// another backend for idempotent methods, 503 + Retry-After when no backend is in rotation.
const port = Number(process.env.PORT ?? 3000);
const healthPath = process.env.HEALTH_PATH ?? '/health';
const intervalMs = Number(process.env.HEALTH_INTERVAL_MS ?? 1000);

interface Backend {
  base: string;
  host: string;
  port: number;
  /** In rotation: its last health probe passed and no connection to it failed since. */
  up: boolean;
  probing: boolean;
}

const backends: Backend[] = (process.env.BACKENDS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((base) => {
    const u = new URL(base);
    return { base: base.replace(/\/$/, ''), host: u.hostname, port: Number(u.port || 80), up: true, probing: false };
  });

/** Methods that may be sent twice without harm: retried once on another backend after a connection error. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
/** Headers that describe one connection, not the message: never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length']);

let cursor = 0;

/** Round robin over the backends in rotation, skipping `exclude`. */
function pick(exclude?: Backend): Backend | undefined {
  for (let i = 0; i < backends.length; i++) {
    const index = (cursor + i) % backends.length;
    const b = backends[index];
    if (b.up && b !== exclude) {
      cursor = (index + 1) % backends.length;
      return b;
    }
  }
  return undefined;
}

interface Answer {
  status: number;
  headers: string[];
  body: Buffer;
}

/** One attempt at one backend: its answer, or undefined when the connection failed (refused, reset...). */
function forward(b: Backend, req: IncomingMessage, body: Buffer): Promise<Answer | undefined> {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(req.rawHeaders[i].toLowerCase())) headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  if (body.length > 0 || req.headers['content-length'] !== undefined) headers.push('Content-Length', String(body.length));
  headers.push('X-Forwarded-For', req.socket.remoteAddress ?? '');
  return new Promise((resolve) => {
    const upstream = request({ host: b.host, port: b.port, method: req.method, path: req.url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve(undefined));
    });
    upstream.on('error', () => resolve(undefined));
    upstream.end(body);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);

  const first = pick();
  if (!first) {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': String(Math.max(1, Math.ceil(intervalMs / 1000))) });
    res.end(JSON.stringify({ error: 'no backend is available' }));
    return;
  }
  let answer = await forward(first, req, body);
  if (!answer) {
    first.up = false; // passive ejection: out until its health check passes again
    const second = IDEMPOTENT.has(req.method ?? 'GET') ? pick(first) : undefined;
    if (second) {
      answer = await forward(second, req, body);
      if (!answer) second.up = false;
    }
  }
  if (!answer) {
    res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: 'the backend did not answer' }));
    return;
  }
  const headers: string[] = [];
  for (let i = 0; i < answer.headers.length; i += 2) {
    if (!HOP_BY_HOP.has(answer.headers[i].toLowerCase())) headers.push(answer.headers[i], answer.headers[i + 1]);
  }
  const declared = lengthOf(answer.headers);
  headers.push('Content-Length', String(req.method === 'HEAD' && declared !== undefined ? declared : answer.body.length));
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

function lengthOf(raw: string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'content-length') return raw[i + 1];
  return undefined;
}

/** Active health check: GET HEALTH_PATH; 2xx puts the backend (back) in rotation, anything else takes it out. */
function probe(b: Backend): void {
  if (b.probing) return;
  b.probing = true;
  const done = (healthy: boolean) => {
    if (!b.probing) return;
    b.probing = false;
    b.up = healthy;
  };
  // A generous timeout: a busy machine can take a while to answer, and a probe that times out takes the backend out.
  const req = request({ host: b.host, port: b.port, path: healthPath, agent: false, timeout: Math.max(2000, intervalMs * 2) }, (res) => {
    res.resume();
    done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
  });
  req.on('timeout', () => req.destroy(new Error('health check timed out')));
  req.on('error', () => done(false));
  req.end();
}

setInterval(() => {
  for (const b of backends) probe(b);
}, intervalMs);

const server = createServer((req, res) => {
  handle(req, res).catch((err: Error) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: err.message }));
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}, balancing ${backends.length} backends`);
});
