import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// The routes work. What is missing is everything around them (see README.md):
//   - a request id on every request (X-Request-Id, reused when the client sends a valid one),
//   - an access log: exactly one JSON line per request on stdout, without secrets,
//   - a guard in front of /api/admin/... that rejects requests without the admin token
//     BEFORE the handler runs.
// Build them as middleware: functions that wrap the handler and run for every request.

const port = Number(process.env.PORT ?? 3000);
const adminToken = process.env.ADMIN_TOKEN ?? ''; // TODO: the guard compares against it

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

let count = 0;

async function handle(req: IncomingMessage, res: ServerResponse, url: URL) {
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /health':
      return sendJson(res, 200, { status: 'ok' });
    case 'GET /api/counter':
      return sendJson(res, 200, { count });
    case 'POST /api/admin/counter/increment':
      // TODO: only with `Authorization: Bearer <ADMIN_TOKEN>`
      count += 1;
      return sendJson(res, 200, { count });
    case 'GET /api/slow': {
      const ms = Math.min(Math.max(Number(url.searchParams.get('ms')) || 0, 0), 5000);
      await new Promise((r) => setTimeout(r, ms));
      return sendJson(res, 200, { waited_ms: ms });
    }
  }
  sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
}

const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`); // TODO: replace with the JSON access log
  handle(req, res, new URL(req.url ?? '/', 'http://localhost')).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
