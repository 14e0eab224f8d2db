import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// Documents are JSON objects stored under ids the client chooses: /documents/<id>.
// See README.md for the contract: PUT (create or replace the whole document), PATCH with
// application/merge-patch+json (RFC 7396), ETags and If-Match, problem+json errors.

const port = Number(process.env.PORT ?? 3000);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { [key: string]: Json };

const documents = new Map<string, Doc>();

function send(res: ServerResponse, status: number, type: string, body: unknown) {
  res.writeHead(status, { 'Content-Type': type });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/health' && req.method === 'GET') return send(res, 200, 'application/json', { status: 'ok' });

  const match = /^\/documents\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
  if (!match) return send(res, 404, 'application/problem+json', { title: 'Not Found', status: 404 });
  const id = match[1];

  if (req.method === 'GET') {
    const doc = documents.get(id);
    if (!doc) return send(res, 404, 'application/problem+json', { title: 'Not Found', status: 404 });
    return send(res, 200, 'application/json', doc); // TODO: ETag
  }

  // TODO: PUT creates (201) or replaces (200/204) the whole document.
  // TODO: PATCH applies an application/merge-patch+json document; other types are 415 + Accept-Patch.
  void readBody;
  send(res, 501, 'application/problem+json', { title: 'Not Implemented', status: 501, detail: `${req.method} is not implemented yet` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, 'application/problem+json', { title: 'Internal Server Error', status: 500 });
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
