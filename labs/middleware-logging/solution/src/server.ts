import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const adminToken = process.env.ADMIN_TOKEN ?? '';

// ---------------------------------------------------------------------------------------------------
// A tiny middleware engine: each middleware gets the request context and `next`, which runs the rest of
// the pipeline. Code before `await next()` runs on the way in, code after it on the way out.
// ---------------------------------------------------------------------------------------------------
interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  requestId: string;
}
type Next = () => Promise<void>;
type Middleware = (ctx: Ctx, next: Next) => Promise<void> | void;

function compose(middleware: Middleware[]): (ctx: Ctx) => Promise<void> {
  return (ctx) => {
    const run = async (i: number): Promise<void> => {
      const mw = middleware[i];
      if (mw) await mw(ctx, () => run(i + 1));
    };
    return run(0);
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

// 1. Request id: reuse a well-formed incoming one (so a trace spans services), otherwise make one.
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const assignRequestId: Middleware = async (ctx, next) => {
  const incoming = ctx.req.headers['x-request-id'];
  ctx.requestId = typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  ctx.res.setHeader('X-Request-Id', ctx.requestId);
  await next();
};

// 2. Access log: one JSON line per request, written when the response has been sent. Only chosen
// fields: never the headers (Authorization, Cookie) or the query string.
const accessLog: Middleware = async (ctx, next) => {
  const started = performance.now();
  ctx.res.once('close', () => {
    const entry = {
      time: new Date().toISOString(),
      level: 'info',
      method: ctx.req.method,
      path: ctx.url.pathname,
      status: ctx.res.statusCode,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      request_id: ctx.requestId,
    };
    process.stdout.write(JSON.stringify(entry) + '\n');
  });
  await next();
};

// 3. Guard: everything under a prefix needs the admin token. It answers 401 itself and does not call
// `next`, so the handler (and its side effect) never runs.
function isAdmin(req: IncomingMessage): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match || !adminToken) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(adminToken);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
const requireAdmin: Middleware = async (ctx, next) => {
  if (!isAdmin(ctx.req)) {
    return sendJson(ctx.res, 401, { error: 'admin token required' }, { 'WWW-Authenticate': 'Bearer realm="admin"' });
  }
  await next();
};
function under(prefix: string, mw: Middleware): Middleware {
  return (ctx, next) => (ctx.url.pathname.startsWith(prefix) ? mw(ctx, next) : next());
}

// 4. Routes
let count = 0;
const routes: Record<string, Record<string, (ctx: Ctx) => Promise<void> | void>> = {
  '/health': { GET: (ctx) => sendJson(ctx.res, 200, { status: 'ok' }) },
  '/api/counter': { GET: (ctx) => sendJson(ctx.res, 200, { count }) },
  '/api/admin/counter/increment': {
    POST: (ctx) => {
      count += 1;
      sendJson(ctx.res, 200, { count });
    },
  },
  '/api/slow': {
    GET: async (ctx) => {
      const ms = Math.min(Math.max(Number(ctx.url.searchParams.get('ms')) || 0, 0), 5000);
      await new Promise((r) => setTimeout(r, ms));
      sendJson(ctx.res, 200, { waited_ms: ms });
    },
  },
};
const router: Middleware = async (ctx) => {
  const methods = routes[ctx.url.pathname];
  if (!methods) return sendJson(ctx.res, 404, { error: `no route for ${ctx.url.pathname}` });
  const handler = methods[ctx.req.method ?? ''];
  if (!handler) return sendJson(ctx.res, 405, { error: `${ctx.req.method} is not allowed here` }, { Allow: Object.keys(methods).join(', ') });
  await handler(ctx);
};

// Order matters: the id first (everything after can use it), the logger around everything that can
// answer (so rejected requests are logged too), the guard before the handlers it protects.
const pipeline = compose([assignRequestId, accessLog, under('/api/admin/', requireAdmin), router]);

const server = createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const ctx: Ctx = { req, res, url: requestUrl, requestId: '' };
  pipeline(ctx).catch((err) => {
    console.error(JSON.stringify({ level: 'error', request_id: ctx.requestId, error: String(err) }));
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
