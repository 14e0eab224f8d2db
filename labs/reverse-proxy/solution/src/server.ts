import { Agent, createServer, type IncomingMessage, request, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

const port = Number(process.env.PORT ?? 3000);
const timeoutMs = Number(process.env.UPSTREAM_TIMEOUT_MS ?? 1000);

interface Route {
  prefix: string;
  host: string;
  port: number;
  /** host:port, the Host header the backend receives. */
  authority: string;
}

const routes: Route[] = (process.env.ROUTES ?? '')
  .split(',')
  .map((pair) => pair.trim())
  .filter(Boolean)
  .map((pair) => {
    const eq = pair.indexOf('=');
    const url = new URL(pair.slice(eq + 1));
    return { prefix: pair.slice(0, eq), host: url.hostname, port: Number(url.port || 80), authority: url.host };
  });
// Longest prefix first: the first route that matches is then the longest match.
routes.sort((a, b) => b.prefix.length - a.prefix.length);

if (routes.length === 0 || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
  console.error('ROUTES (prefix=url,...) and a positive UPSTREAM_TIMEOUT_MS are required.');
  process.exit(1);
}

// Keep-alive connections to the backends, as many as there are requests in flight.
const agent = new Agent({ keepAlive: true });

function findRoute(path: string): Route | undefined {
  return routes.find((r) => path.startsWith(r.prefix));
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate'];

/** A raw header list (name, value, name, value...) without its hop-by-hop headers. */
function endToEnd(raw: string[]): string[] {
  const drop = new Set(HOP_BY_HOP);
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') for (const token of raw[i + 1].split(',')) drop.add(token.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!drop.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** A path segment that is `.` or `..`, each dot literal or percent-encoded. */
function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => {
    const decoded = segment.replace(/%2e/gi, '.');
    return decoded === '.' || decoded === '..';
  });
}

/** A Forwarded parameter value: a token as is, anything else as a quoted-string. */
function forwardedValue(v: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

function answer(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The headers the backend receives: the client's end-to-end ones, Host, X-Forwarded-* and Forwarded. */
function forwardHeaders(req: IncomingMessage, route: Route): string[] {
  const peer = req.socket.remoteAddress ?? '';
  const clientHost = req.headers.host ?? '';
  const headers: string[] = [];
  const forwardedFor: string[] = [];
  const forwarded: string[] = [];
  const raw = endToEnd(req.rawHeaders);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'x-forwarded-for') forwardedFor.push(raw[i + 1]);
    else if (name === 'forwarded') forwarded.push(raw[i + 1]);
    else if (name !== 'host' && name !== 'x-forwarded-proto' && name !== 'x-forwarded-host') headers.push(raw[i], raw[i + 1]);
  }
  forwardedFor.push(peer);
  forwarded.push(`for=${peer.includes(':') ? `"[${peer}]"` : peer};host=${forwardedValue(clientHost)};proto=http`);
  headers.push('Host', route.authority);
  headers.push('X-Forwarded-For', forwardedFor.join(', '));
  headers.push('X-Forwarded-Proto', 'http');
  headers.push('X-Forwarded-Host', clientHost);
  headers.push('Forwarded', forwarded.join(', '));
  // A chunked request body stays chunked (Transfer-Encoding itself is hop-by-hop, so it was dropped above).
  if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) headers.push('Transfer-Encoding', 'chunked');
  return headers;
}

const server = createServer((req, res) => {
  const target = req.url ?? '/';
  const path = target.split('?')[0];
  if (hasDotSegment(path)) return answer(res, 400, `dot-segments are not allowed in the path: ${path}\n`);
  const route = findRoute(path);
  if (!route) return answer(res, 404, `no route for ${path}\n`);
  const headers = forwardHeaders(req, route);

  const upstream = request({ host: route.host, port: route.port, method: req.method, path: target, headers, agent });
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const fail = (status: number, text: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (!res.headersSent) answer(res, status, text);
    else res.destroy();
  };
  // The backend has UPSTREAM_TIMEOUT_MS from the end of the request (body included) to send its headers.
  upstream.on('finish', () => {
    timer = setTimeout(() => {
      fail(504, `the backend did not answer within ${timeoutMs} ms\n`);
      upstream.destroy();
    }, timeoutMs);
  });
  upstream.on('response', (upstreamRes) => {
    clearTimeout(timer);
    if (settled) return void upstreamRes.resume();
    settled = true;
    res.writeHead(upstreamRes.statusCode ?? 502, endToEnd(upstreamRes.rawHeaders));
    upstreamRes.pipe(res);
    upstreamRes.on('error', () => res.destroy());
  });
  upstream.on('error', (err) => fail(502, `the backend failed: ${err.message}\n`));
  // The client went away: stop talking to the backend.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
});

/** A response head: status line and header lines (name, value, name, value...). */
function responseHead(status: number, message: string, raw: string[]): string {
  const lines = [`HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}`];
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Our own answer on a raw client socket (an upgrade request has no ServerResponse), then the connection ends. */
function answerSocket(socket: Duplex, status: number, text: string): void {
  const head = responseHead(status, '', ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(Buffer.byteLength(text)), 'Connection', 'close']);
  socket.end(head + text);
}

// WebSocket upgrades (Connection: Upgrade, Upgrade: websocket). Node hands them to 'upgrade' with the raw
// socket: the handshake goes to the backend with Connection: Upgrade and Upgrade kept (the one exception to
// the hop-by-hop rule); after its 101 the proxy copies bytes both ways until one side closes.
server.on('upgrade', (req: IncomingMessage, client: Duplex, clientHead: Buffer) => {
  client.on('error', () => client.destroy());
  const target = req.url ?? '/';
  const path = target.split('?')[0];
  if (hasDotSegment(path)) return answerSocket(client, 400, `dot-segments are not allowed in the path: ${path}\n`);
  const to = findRoute(path);
  if (!to) return answerSocket(client, 404, `no route for ${path}\n`);
  const headers = forwardHeaders(req, to);
  headers.push('Connection', 'Upgrade', 'Upgrade', req.headers.upgrade ?? 'websocket');

  // No agent: an upgraded connection is never reused for another request.
  const upstream = request({ host: to.host, port: to.port, method: req.method, path: target, headers, agent: false });
  let answered = false;
  let upgraded = false;
  const settle = () => {
    clearTimeout(waiting);
    if (answered) return false;
    answered = true;
    return true;
  };
  const waiting = setTimeout(() => {
    if (!settle()) return;
    answerSocket(client, 504, `the backend did not answer the upgrade within ${timeoutMs} ms\n`);
    upstream.destroy();
  }, timeoutMs);
  upstream.on('upgrade', (upstreamRes, backend: Duplex, backendHead: Buffer) => {
    if (!settle()) return void backend.destroy();
    upgraded = true;
    backend.on('error', () => backend.destroy());
    // The backend's 101 with its headers (Upgrade, Connection, Sec-WebSocket-Accept, Sec-WebSocket-Protocol).
    client.write(responseHead(101, upstreamRes.statusMessage ?? '', upstreamRes.rawHeaders));
    if (backendHead.length) client.write(backendHead);
    if (clientHead.length) backend.write(clientHead);
    // Bytes both ways, as they arrive: one side's end ends the other (pipe does that), and a reset, an error or a
    // close before the end destroys the other side at once.
    client.pipe(backend).pipe(client);
    client.on('close', () => {
      if (!backend.writableEnded) backend.destroy();
    });
    backend.on('close', () => {
      if (!client.writableEnded) client.destroy();
    });
  });
  // Any other answer (a 403, a 404...) is a plain response, passed on like any other; then the connection ends.
  upstream.on('response', (upstreamRes) => {
    if (!settle()) return void upstreamRes.resume();
    client.write(responseHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage ?? '', [...endToEnd(upstreamRes.rawHeaders), 'Connection', 'close']));
    upstreamRes.pipe(client);
    upstreamRes.on('error', () => client.destroy());
  });
  upstream.on('error', (err) => {
    if (settle()) answerSocket(client, 502, `the backend failed the upgrade: ${err.message}\n`);
  });
  client.on('close', () => {
    if (!upgraded) upstream.destroy();
  });
  upstream.end();
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}, routes: ${routes.map((r) => `${r.prefix} -> ${r.authority}`).join(', ')}`);
});
