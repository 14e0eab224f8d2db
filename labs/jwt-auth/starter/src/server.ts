import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// Everything the grader gives you arrives in environment variables (see README.md, "The contract").
const port = Number(process.env.PORT ?? 3000);
const privateKey = createPrivateKey(process.env.JWT_PRIVATE_KEY ?? '');
const publicKey = createPublicKey(privateKey);
const KID = process.env.JWT_KID;
const ISSUER = process.env.JWT_ISSUER;
const AUDIENCE = process.env.JWT_AUDIENCE;
const TTL = Number(process.env.ACCESS_TOKEN_TTL_SECONDS ?? 900);
const USERS = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string; roles: string[] }[];
console.log(`issuer ${ISSUER}, audience ${AUDIENCE}, kid ${KID}, ttl ${TTL} s, ${USERS.length} users, key ${publicKey.asymmetricKeyType}`);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  // TODO, in this order (README.md has the contract and the hints):
  //   POST /login                 -> sign an RS256 access token + issue a refresh token
  //   GET  /.well-known/jwks.json -> the public key
  //   GET  /me                    -> verify the Bearer token strictly; 401 + WWW-Authenticate: Bearer otherwise
  //   GET  /admin/users           -> 403 without the "admin" role
  //   POST /refresh               -> rotate the refresh token
  return sendJson(res, 501, { error: `${req.method} ${pathname} is not implemented yet` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
