import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadConfig } from './config.ts';

const config = loadConfig(process.env);

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
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
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const route = `${req.method} ${url.pathname}`;

  if (route === 'GET /health') return sendJson(res, 200, { status: 'ok' });

  if (route === 'GET /api/config') {
    // The public part of the configuration only: pick the fields, never serialise the whole object.
    return sendJson(res, 200, { app_name: config.appName, greeting: config.greeting, features: { reports: config.features.reports } });
  }

  if (route === 'POST /api/sign') {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return sendJson(res, 400, { error: 'the body must be JSON' });
    }
    const message = (body as { message?: unknown } | null)?.message;
    if (typeof message !== 'string') return sendJson(res, 400, { error: 'send {"message": "<text>"}' });
    const signature = createHmac('sha256', config.signingSecret).update(message, 'utf8').digest('hex');
    return sendJson(res, 200, { signature });
  }

  if (route === 'GET /api/reports' && config.features.reports) {
    return sendJson(res, 200, { reports: [{ id: 1, title: `${config.appName} weekly report` }] });
  }

  sendJson(res, 404, { error: `no route for ${route}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('request failed:', (err as Error).message);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
  });
});

server.listen(config.port, '0.0.0.0', () => {
  console.log(`${config.appName} listening on http://localhost:${config.port} (reports ${config.features.reports ? 'on' : 'off'})`);
});
