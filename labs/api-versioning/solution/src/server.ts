import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.env.PORT ?? 3000);

// When v1 was deprecated and when it goes away, from the environment (ISO 8601).
const v1DeprecatedAt = new Date(process.env.V1_DEPRECATED_AT ?? '2024-01-01T00:00:00Z');
const v1SunsetAt = new Date(process.env.V1_SUNSET_AT ?? '2025-01-01T00:00:00Z');

// One model, stored once; each version is a representation of it.
interface Product {
  id: string;
  name: string;
  priceCents: number;
}
const products = new Map<string, Product>();

type Version = 1 | 2;
const SUPPORTED: Version[] = [1, 2];

const representations = {
  1: (p: Product) => ({ id: p.id, name: p.name, price: p.priceCents / 100 }),
  2: (p: Product) => ({ id: p.id, name: p.name, price_cents: p.priceCents, currency: 'USD' }),
};
const lists = {
  1: (items: Product[]) => items.map(representations[1]),
  2: (items: Product[]) => ({ items: items.map(representations[2]) }),
};

class HttpError extends Error {
  constructor(readonly status: number, readonly title: string, readonly detail: string) {
    super(detail);
  }
}

function problem(res: ServerResponse, err: HttpError, headers: Record<string, string>) {
  res.writeHead(err.status, { ...headers, 'Content-Type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title: err.title, status: err.status, detail: err.detail }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    throw new HttpError(400, 'Bad Request', 'The body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(422, 'Unprocessable Content', 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

function parseNew(version: Version, body: Record<string, unknown>): Omit<Product, 'id'> {
  const name = body.name;
  if (typeof name !== 'string' || name.trim() === '') throw new HttpError(422, 'Unprocessable Content', '`name` must be a non-empty string.');
  if (version === 1) {
    const price = body.price;
    if (typeof price !== 'number' || !(price >= 0)) throw new HttpError(422, 'Unprocessable Content', '`price` must be a number >= 0.');
    return { name, priceCents: Math.round(price * 100) };
  }
  const cents = body.price_cents;
  if (!Number.isInteger(cents) || (cents as number) < 0) throw new HttpError(422, 'Unprocessable Content', '`price_cents` must be an integer >= 0.');
  return { name, priceCents: cents as number };
}

/** Headers every answer of a version carries: v1 says it is deprecated and when it will be gone. */
function versionHeaders(version: Version): Record<string, string> {
  if (version !== 1) return {};
  return {
    Deprecation: `@${Math.floor(v1DeprecatedAt.getTime() / 1000)}`, // RFC 9745: a structured-field date
    Sunset: v1SunsetAt.toUTCString(), // RFC 8594: an HTTP-date (IMF-fixdate)
    Link: '</v2/products>; rel="successor-version"',
  };
}

/** Accept: application/vnd.shop.v2+json picks v2; no vendor type picks the default, v1. */
function negotiate(req: IncomingMessage): Version {
  const accept = req.headers.accept ?? '';
  const asked = [...accept.matchAll(/application\/vnd\.shop\.v(\d+)\+json/gi)].map((m) => Number(m[1]));
  if (asked.length === 0) return 1;
  const found = asked.find((v): v is Version => SUPPORTED.includes(v as Version));
  if (found === undefined) throw new HttpError(406, 'Not Acceptable', `This API has versions ${SUPPORTED.map((v) => `application/vnd.shop.v${v}+json`).join(' and ')}.`);
  return found;
}

async function serve(req: IncomingMessage, res: ServerResponse, version: Version, id: string | undefined, headers: Record<string, string>) {
  const all = { ...headers, ...versionHeaders(version) };
  const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...all, ...extra, 'Content-Type': `application/vnd.shop.v${version}+json` });
    res.end(JSON.stringify(body));
  };
  if (id === undefined && req.method === 'GET') return send(200, lists[version]([...products.values()]));
  if (id === undefined && req.method === 'POST') {
    const product = { id: randomUUID(), ...parseNew(version, await readJson(req)) };
    products.set(product.id, product);
    return send(201, representations[version](product), { Location: `/v${version}/products/${product.id}` });
  }
  if (id !== undefined && req.method === 'GET') {
    const product = products.get(id);
    if (!product) return problem(res, new HttpError(404, 'Not Found', `There is no product ${id}.`), all);
    return send(200, representations[version](product));
  }
  res.setHeader('Allow', id === undefined ? 'GET, POST' : 'GET');
  problem(res, new HttpError(405, 'Method Not Allowed', `${req.method} is not supported here.`), all);
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
  if (url.pathname === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end('{"status":"ok"}');
  }
  // Version in the path: /v1/products, /v2/products/<id>
  const inPath = /^\/v(\d+)\/products(?:\/([^/]+))?$/.exec(url.pathname);
  if (inPath) {
    const version = Number(inPath[1]);
    if (!SUPPORTED.includes(version as Version)) throw new HttpError(404, 'Not Found', `There is no version ${version} of this API (there are v1 and v2).`);
    return serve(req, res, version as Version, inPath[2], {});
  }
  // Version negotiated from the Accept header: /products, /products/<id>. The answer depends on Accept,
  // so caches must know: Vary: Accept.
  const negotiated = /^\/products(?:\/([^/]+))?$/.exec(url.pathname);
  if (negotiated) {
    res.setHeader('Vary', 'Accept');
    return serve(req, res, negotiate(req), negotiated[1], { Vary: 'Accept' });
  }
  throw new HttpError(404, 'Not Found', `There is nothing at ${url.pathname}.`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (err instanceof HttpError) return problem(res, err, {});
    console.error(err);
    if (!res.headersSent) problem(res, new HttpError(500, 'Internal Server Error', 'An unexpected error occurred.'), {});
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
