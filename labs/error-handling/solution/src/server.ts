import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const dependencyUrl = process.env.DEPENDENCY_URL ?? 'http://127.0.0.1:9';
const dependencyTimeoutMs = Number(process.env.DEPENDENCY_TIMEOUT_MS ?? 1000);

// ---------------------------------------------------------------------------------------------------
// Errors. An HttpError is an expected, client-facing error: its detail is safe to show. Anything else is
// a bug: it is logged in full on the server and the client gets a generic 500.
// ---------------------------------------------------------------------------------------------------
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  requestId: string;
  params: Record<string, string>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendProblem(ctx: Ctx, status: number, detail: string, headers: Record<string, string> = {}, extensions: Record<string, unknown> = {}) {
  const body = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, instance: ctx.url.pathname, request_id: ctx.requestId, ...extensions };
  ctx.res.writeHead(status, { 'Content-Type': 'application/problem+json', ...headers });
  ctx.res.end(JSON.stringify(body));
}

/** The one place errors become responses. */
function handleError(ctx: Ctx, err: unknown) {
  if (err instanceof HttpError) return sendProblem(ctx, err.status, err.detail, err.headers, err.extensions);
  // Unexpected: everything goes to the log (one line, with the request id), nothing internal to the client.
  console.error(JSON.stringify({ level: 'error', request_id: ctx.requestId, method: ctx.req.method, path: ctx.url.pathname, error: err instanceof Error ? err.stack : String(err) }));
  if (ctx.res.headersSent) return ctx.res.destroy();
  sendProblem(ctx, 500, 'An unexpected error occurred. Quote the request id if you contact support.');
}

// ---------------------------------------------------------------------------------------------------
// Body parsing
// ---------------------------------------------------------------------------------------------------
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'Send the body as JSON with `Content-Type: application/json`.');
  const raw = await readBody(req);
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'The body is not valid JSON.');
  }
}

// ---------------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------------
interface Order {
  id: string;
  item: string;
  quantity: number;
}
const orders = new Map<string, Order>();

function validateOrder(body: unknown): Omit<Order, 'id'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(422, 'The body must be a JSON object.', {}, { errors: [{ pointer: '#', detail: 'must be an object' }] });
  }
  const { item, quantity } = body as Record<string, unknown>;
  const errors: { pointer: string; detail: string }[] = [];
  if (typeof item !== 'string' || item.trim() === '' || item.length > 100) errors.push({ pointer: '#/item', detail: 'must be a non-empty string of at most 100 characters' });
  if (!Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 100) errors.push({ pointer: '#/quantity', detail: 'must be an integer from 1 to 100' });
  if (errors.length > 0) throw new HttpError(422, 'The order is invalid.', {}, { errors });
  return { item: item as string, quantity: quantity as number };
}

async function createOrder(ctx: Ctx) {
  const order = { id: randomUUID(), ...validateOrder(await readJson(ctx.req)) };
  orders.set(order.id, order);
  sendJson(ctx.res, 201, order, { Location: `/orders/${order.id}` });
}

function getOrder(ctx: Ctx) {
  const order = orders.get(ctx.params.id);
  if (!order) throw new HttpError(404, `There is no order ${ctx.params.id}.`);
  sendJson(ctx.res, 200, order);
}

// Faults on purpose: each simulates a bug whose message holds internal details (SQL, the `detail` input).
function faultSync(ctx: Ctx): void {
  const detail = ctx.url.searchParams.get('detail') ?? '';
  throw new Error(`query failed: SELECT * FROM accounts WHERE api_key = '${detail}'`);
}

async function failingQuery(detail: string): Promise<never> {
  await new Promise((r) => setTimeout(r, 5));
  throw new Error(`query failed: UPDATE accounts SET balance = balance - 1 WHERE api_key = '${detail}'`);
}

async function faultAsync(ctx: Ctx) {
  await failingQuery(ctx.url.searchParams.get('detail') ?? '');
}

async function callDependency(ctx: Ctx) {
  let res: Response;
  try {
    res = await fetch(`${dependencyUrl}/stock`, { signal: AbortSignal.timeout(dependencyTimeoutMs) });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new HttpError(504, 'The inventory service did not answer in time. Try again later.');
    throw new HttpError(502, 'The inventory service is unavailable. Try again later.');
  }
  if (!res.ok) throw new HttpError(502, 'The inventory service failed. Try again later.');
  sendJson(ctx.res, 200, { dependency: await res.json() });
}

// ---------------------------------------------------------------------------------------------------
// Routing: path pattern -> method -> handler; a known path with another method is a 405 with Allow.
// ---------------------------------------------------------------------------------------------------
type Handler = (ctx: Ctx) => void | Promise<void>;
const routes: { pattern: RegExp; methods: Record<string, Handler> }[] = [
  { pattern: /^\/health$/, methods: { GET: (ctx) => sendJson(ctx.res, 200, { status: 'ok' }) } },
  { pattern: /^\/orders$/, methods: { POST: createOrder } },
  { pattern: /^\/orders\/(?<id>[^/]+)$/, methods: { GET: getOrder } },
  { pattern: /^\/fault\/sync$/, methods: { GET: faultSync } },
  { pattern: /^\/fault\/async$/, methods: { GET: faultAsync } },
  { pattern: /^\/fault\/dependency$/, methods: { GET: callDependency } },
];

async function dispatch(ctx: Ctx) {
  for (const route of routes) {
    const match = route.pattern.exec(ctx.url.pathname);
    if (!match) continue;
    ctx.params = match.groups ?? {};
    const handler = route.methods[ctx.req.method ?? ''];
    if (!handler) throw new HttpError(405, `${ctx.req.method} is not allowed on ${ctx.url.pathname}.`, { Allow: Object.keys(route.methods).join(', ') });
    return await handler(ctx);
  }
  throw new HttpError(404, `There is nothing at ${ctx.url.pathname}.`);
}

const server = createServer(async (req, res) => {
  const requestId = randomUUID();
  res.setHeader('X-Request-Id', requestId);
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const ctx: Ctx = { req, res, url: requestUrl, requestId, params: {} };
  try {
    await dispatch(ctx);
  } catch (err) {
    handleError(ctx, err);
  }
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
