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

// Sliding window counter: fixed sub-windows of WINDOW_MS, but the limit applies to a weighted estimate
//   estimate = previous window's count x (share of the previous window still inside the sliding window)
//            + current window's count
// which slides smoothly instead of resetting at the window edge. Rejected requests are not counted.
interface Counter {
  window: number;
  previous: number;
  current: number;
}
const counters = new Map<string, Counter>();

function roll(c: Counter, now: number): void {
  const window = Math.floor(now / WINDOW_MS);
  if (window === c.window) return;
  c.previous = window === c.window + 1 ? c.current : 0;
  c.current = 0;
  c.window = window;
}

function estimate(c: Counter, now: number): number {
  const elapsed = now - c.window * WINDOW_MS;
  return c.previous * (1 - elapsed / WINDOW_MS) + c.current;
}

/** Milliseconds until the estimate drops below `target`, if no more requests come. */
function msUntilBelow(c: Counter, now: number, target: number): number {
  if (estimate(c, now) < target) return 0;
  const elapsed = now - c.window * WINDOW_MS;
  const rest = WINDOW_MS - elapsed;
  if (c.previous > 0 && target > c.current) {
    // previous x (1 - e / W) + current < target  <=>  e > W x (1 - (target - current) / previous)
    const e = WINDOW_MS * (1 - (target - c.current) / c.previous);
    if (e < WINDOW_MS) return Math.min(WINDOW_MS, Math.max(0, e - elapsed) + 1);
  }
  // In the next window the estimate is current x (1 - e / W).
  if (c.current < target) return Math.min(WINDOW_MS, rest + 1);
  return Math.min(WINDOW_MS, rest + WINDOW_MS * (1 - target / c.current) + 1);
}

function take(client: string, now: number): Decision {
  let c = counters.get(client);
  if (!c) {
    c = { window: Math.floor(now / WINDOW_MS), previous: 0, current: 0 };
    counters.set(client, c);
  }
  roll(c, now);
  const allowed = estimate(c, now) < LIMIT;
  if (allowed) c.current += 1;
  const remaining = Math.max(0, Math.ceil(LIMIT - estimate(c, now)));
  return { allowed, remaining, resetMs: msUntilBelow(c, now, LIMIT - remaining) };
}

// Forget clients with nothing left in the last two windows.
setInterval(() => {
  const now = performance.now();
  for (const [client, c] of counters) if (Math.floor(now / WINDOW_MS) > c.window + 1) counters.delete(client);
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
