import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// The grader gives you a port in the PORT environment variable: always listen on it.
const port = Number(process.env.PORT ?? 3000);

// The limits come from the environment (see README.md): L requests per client per W milliseconds.
const LIMIT = Number(process.env.RATE_LIMIT ?? 5);
const WINDOW_MS = Number(process.env.RATE_WINDOW_MS ?? 60_000);

const QUOTES = [
  { quote: 'Simplicity is prerequisite for reliability.', author: 'Edsger W. Dijkstra' },
  { quote: 'Make it work, make it right, make it fast.', author: 'Kent Beck' },
  { quote: 'The best way to predict the future is to invent it.', author: 'Alan Kay' },
];

function send(res: ServerResponse, status: number, type: string, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (pathname !== '/api/quote' || req.method !== 'GET') {
    return send(res, 404, 'application/problem+json', { type: 'about:blank', title: 'Not Found', status: 404, detail: `No route for ${req.method} ${pathname}.` });
  }
  const client = req.headers['x-client-id'];

  // TODO: limit each client (the X-Client-Id header) to LIMIT requests per WINDOW_MS, with a sliding
  // window or a token bucket (README.md): 429 + Retry-After + problem+json when over the limit, and the
  // RateLimit-Policy / RateLimit headers on every response.
  void client;
  void LIMIT;
  void WINDOW_MS;

  send(res, 200, 'application/json', QUOTES[Math.floor(Math.random() * QUOTES.length)]);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, 'application/problem+json', { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'Something went wrong.' });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
