import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);

const HOME = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>backend-labs</title></head>
  <body><h1>Hello from my first backend</h1></body>
</html>
`;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
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

// Which methods each route answers; anything else is 405 with an Allow header.
const routes: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/health': ['GET', 'HEAD'],
  '/api/greet': ['GET', 'HEAD'],
  '/api/echo': ['POST'],
};

async function handle(req: IncomingMessage, res: ServerResponse) {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const allowed = routes[url.pathname];
  if (!allowed) return sendJson(res, 404, { error: `no route for ${url.pathname}` });
  if (!allowed.includes(req.method ?? '')) {
    return sendJson(res, 405, { error: `${req.method} is not allowed here` }, { Allow: allowed.join(', ') });
  }

  switch (url.pathname) {
    case '/':
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(HOME);
    case '/health':
      return sendJson(res, 200, { status: 'ok' });
    case '/api/greet': {
      const name = url.searchParams.get('name');
      if (!name) return sendJson(res, 400, { error: 'the query parameter "name" is required' });
      return sendJson(res, 200, { message: `Hello, ${name}!` });
    }
    case '/api/echo': {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') {
        return sendJson(res, 415, { error: 'send JSON with Content-Type: application/json' });
      }
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJson(res, 400, { error: 'the body is not valid JSON' });
      }
      return sendJson(res, 200, body);
    }
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
