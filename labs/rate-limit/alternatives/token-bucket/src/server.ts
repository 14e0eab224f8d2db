import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${name} must be a positive integer, got "${raw}"`);
    process.exit(1);
  }
  return n;
}

const LIMIT = positiveInt('RATE_LIMIT', 5); // L: requests per client per window
const WINDOW_MS = positiveInt('RATE_WINDOW_MS', 60_000); // W
// The draft allows whole seconds only: the window, rounded up.
const POLICY = `"default";q=${LIMIT};w=${Math.ceil(WINDOW_MS / 1000)}`;

const QUOTES = [
  { quote: 'Simplicity is prerequisite for reliability.', author: 'Edsger W. Dijkstra' },
  { quote: 'Make it work, make it right, make it fast.', author: 'Kent Beck' },
  { quote: 'There is nothing so useless as doing efficiently that which should not be done at all.', author: 'Peter Drucker' },
  { quote: 'The best way to predict the future is to invent it.', author: 'Alan Kay' },
  { quote: 'Premature optimization is the root of all evil.', author: 'Donald Knuth' },
];

/** Whole seconds, rounded up: a client that waits this long is never early. */
const seconds = (ms: number) => Math.ceil(ms / 1000);

interface Decision {
  allowed: boolean;
  /** Requests the client may still make right now. */
  remaining: number;
  /** Milliseconds until the quota next goes up. */
  resetMs: number;
}

// Token bucket: each client has a bucket of at most LIMIT tokens that refills continuously at
// LIMIT / WINDOW_MS tokens per millisecond; a request takes one token or is refused. Rejected requests
// take nothing. Refill, check and take happen in one synchronous step (atomic in Node's event loop).
const RATE = LIMIT / WINDOW_MS;
const buckets = new Map<string, { tokens: number; at: number }>();

function take(client: string, now: number): Decision {
  const bucket = buckets.get(client) ?? { tokens: LIMIT, at: now };
  bucket.tokens = Math.min(LIMIT, bucket.tokens + (now - bucket.at) * RATE);
  bucket.at = now;
  const allowed = bucket.tokens >= 1;
  if (allowed) bucket.tokens -= 1;
  buckets.set(client, bucket);
  const remaining = Math.floor(bucket.tokens);
  // The quota goes up when the bucket reaches the next whole token.
  const resetMs = remaining >= LIMIT ? 0 : (remaining + 1 - bucket.tokens) / RATE;
  return { allowed, remaining, resetMs };
}

// Forget full buckets (a new bucket starts full anyway).
setInterval(() => {
  const now = performance.now();
  for (const [client, b] of buckets) if (b.tokens + (now - b.at) * RATE >= LIMIT) buckets.delete(client);
}, WINDOW_MS).unref();

function send(res: ServerResponse, status: number, type: string, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, title: string, detail: string, headers: Record<string, string> = {}, extra: object = {}) {
  send(res, status, 'application/problem+json', { type: 'about:blank', title, status, detail, ...extra }, headers);
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
  if (pathname !== '/api/quote') return problem(res, 404, 'Not Found', `No route for ${pathname}.`);
  if (req.method !== 'GET') return problem(res, 405, 'Method Not Allowed', 'Use GET.', { Allow: 'GET' });

  const client = req.headers['x-client-id'];
  if (typeof client !== 'string' || client === '') {
    return problem(res, 400, 'Bad Request', 'Send an X-Client-Id header: limits are per client.');
  }

  // performance.now() is monotonic: a clock change on the machine cannot reset anyone's window.
  const decision = take(client, performance.now());
  const headers = {
    'RateLimit-Policy': POLICY,
    RateLimit: `"default";r=${decision.remaining};t=${seconds(decision.resetMs)}`,
  };
  if (!decision.allowed) {
    return problem(
      res,
      429,
      'Too Many Requests',
      `Client "${client}" may make ${LIMIT} requests per ${WINDOW_MS} ms.`,
      { ...headers, 'Retry-After': String(seconds(decision.resetMs)) },
      { 'violated-policies': ['default'] },
    );
  }
  send(res, 200, 'application/json', QUOTES[Math.floor(Math.random() * QUOTES.length)], headers);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) problem(res, 500, 'Internal Server Error', 'Something went wrong on our side.');
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port} (limit ${LIMIT} per ${WINDOW_MS} ms per client)`);
});
