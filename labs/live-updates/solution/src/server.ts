// Reference solution: a Server-Sent Events feed of new items, on node:http only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 15000);
const HISTORY_SIZE = Number(process.env.HISTORY_SIZE ?? 100);

interface Item {
  id: number;
  text: string;
}

let lastId = 0;
const history: { id: number; frame: string }[] = []; // the last HISTORY_SIZE events, oldest first
const subscribers = new Set<ServerResponse>();

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function publish(item: Item): void {
  // One event: its id, its type, its data on one line (JSON.stringify never emits a raw newline).
  const frame = `id: ${item.id}\nevent: item\ndata: ${JSON.stringify(item)}\n\n`;
  history.push({ id: item.id, frame });
  if (history.length > HISTORY_SIZE) history.shift();
  for (const res of subscribers) res.write(frame);
}

function subscribe(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.write(': connected\n\n'); // the headers and a first byte go out now, not with the first event
  const header = req.headers['last-event-id'];
  const last = typeof header === 'string' && /^\d+$/.test(header.trim()) ? Number(header.trim()) : undefined;
  if (last !== undefined) {
    const oldest = history[0]?.id ?? lastId + 1;
    if (last < oldest - 1) res.write('event: reset\ndata: {}\n\n'); // some events after `last` are gone
    for (const e of history) if (e.id > last) res.write(e.frame);
  }
  subscribers.add(res);
  req.on('close', () => subscribers.delete(res));
}

const server = createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const path = requestUrl.pathname;
  if (req.method === 'GET' && path === '/events') return subscribe(req, res);
  if (req.method === 'GET' && path === '/stats') return json(res, 200, { subscribers: subscribers.size });
  if (req.method === 'POST' && path === '/items') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: 'the body is not valid JSON' });
      }
      if (typeof body?.text !== 'string' || body.text === '') return json(res, 422, { error: '"text" must be a non-empty string' });
      const item = { id: ++lastId, text: body.text };
      publish(item);
      json(res, 201, item);
    });
    return;
  }
  json(res, 404, { error: 'not found' });
});

// Comments keep idle connections (and the proxies between) from timing out, and reveal dead subscribers.
setInterval(() => {
  for (const res of subscribers) res.write(': heartbeat\n\n');
}, HEARTBEAT_MS);

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
