import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// Everything the grader gives you arrives in environment variables (see README.md, "The contract").
const port = Number(process.env.PORT ?? 3000);
const ISSUER = `http://127.0.0.1:${port}`;
const CLIENTS = JSON.parse(process.env.CLIENTS ?? '[]') as { client_id: string; client_secret?: string; redirect_uris: string[] }[];
const USERS = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[];
const TTL = Number(process.env.ACCESS_TOKEN_TTL_SECONDS ?? 600);
console.log(`issuer ${ISSUER}, ${CLIENTS.length} clients, ${USERS.length} users, access tokens live ${TTL} s`);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', ISSUER);
  // TODO, in this order (README.md has the contract and the hints):
  //   GET  /.well-known/oauth-authorization-server -> the metadata (RFC 8414)
  //   GET  /authorize   -> validate client_id + redirect_uri (exact), then PKCE; login page or redirect with a code
  //   POST /login       -> session cookie, 303 back to return_to
  //   POST /token       -> authorization_code (PKCE S256) and refresh_token (rotation) grants
  //   GET  /me          -> who the Bearer access token is for
  return sendJson(res, 501, { error: `${req.method} ${pathname} is not implemented yet` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on ${ISSUER}`));
