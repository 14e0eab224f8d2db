import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// Everything the grader gives you arrives in environment variables (see README.md, "The contract").
const port = Number(process.env.PORT ?? 3000);
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? '';
const CORS_ORIGIN = process.env.CORS_ORIGIN ?? '';
const MAX_BODY_BYTES = Number(process.env.MAX_BODY_BYTES ?? 4096);
console.log(`CORS origin ${CORS_ORIGIN}, body limit ${MAX_BODY_BYTES} bytes, admin token ${ADMIN_TOKEN ? 'set' : 'missing'}`);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  // TODO (README.md has the contract and the hints):
  //   POST /admin/keys, GET /admin/keys, DELETE /admin/keys/{id}   (Authorization: Bearer <ADMIN_TOKEN>)
  //   GET /api/notes (notes:read), POST /api/notes (notes:write)    (X-API-Key: <key>)
  //   CORS for CORS_ORIGIN, security headers on every response, 413 over MAX_BODY_BYTES
  return sendJson(res, 501, { error: `${req.method} ${pathname} is not implemented yet` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
