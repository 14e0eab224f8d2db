import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// Everything the grader gives you arrives in environment variables (see README.md, "The contract").
const port = Number(process.env.PORT ?? 3000);
const APP_ORIGIN = process.env.APP_ORIGIN ?? `http://localhost:${port}`;
const USERS = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[];
console.log(`app origin ${APP_ORIGIN}, ${USERS.length} users`);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Reads an application/x-www-form-urlencoded body (what an HTML form sends). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  // TODO (README.md has the contract and the hints):
  //   POST /login           -> check the password, create a session, Set-Cookie: sid=...
  //   GET  /api/account     -> {"username", "email"} of the session's user, 401 without a session
  //   GET  /api/csrf-token  -> {"csrf_token"} bound to the session
  //   POST /account/email   -> change the email only with a valid token, from your own origin
  void readForm;
  return sendJson(res, 501, { error: `${req.method} ${pathname} is not implemented yet` });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
}).listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
