import { createHash } from 'node:crypto';
import { type ClientRequest, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import {
  type Backend,
  type BackendPool,
  type BackendRequest,
  BackendsByEnv,
  CheckFailure,
  defineLab,
  type CheckContext,
  type EnvContext,
  type Random,
  rawHttp,
  type RawRequestOptions,
  type RawResponse,
  seededBytes,
  type WsClient,
  type WsConnectOptions,
} from '../../grader/index.ts';

// --- the backends the grader hosts, and the routes to them --------------------------------------------

/**
 * Three backends: `outer` behind /<w1>/, `inner` behind the longer /<w1>/<w2>/ (listed after the shorter one
 * in ROUTES, so first-match routing sends its requests to `outer`), and `other` behind /<w3>/.
 */
const backends = new BackendsByEnv('ROUTES');

async function hostRoutes(r: Random, run: EnvContext): Promise<string> {
  const w1 = r.word(3, 6);
  let w3 = r.word(4, 7);
  while (w3.startsWith(w1) || w1.startsWith(w3)) w3 = r.word(4, 7);
  const w2 = `${r.word(2, 3)}${r.int(1, 9)}`;
  const otherFirst = r.bool();
  return backends.host(run, ['outer', 'inner', 'other'], {
    // Longer than a run: a backend closing an idle connection as the proxy reuses it would fail a request by chance.
    keepAliveTimeoutMs: 120_000,
    format: (pool) => {
      const [outer, inner, other] = pool.backends;
      const routes = [`/${w1}/=${outer.url}`, `/${w1}/${w2}/=${inner.url}`];
      routes.splice(otherFirst ? 0 : 1, 0, `/${w3}/=${other.url}`);
      return routes.join(',');
    },
  });
}

interface Route {
  prefix: string;
  backend: Backend;
}

interface Routes {
  pool: BackendPool;
  outer: Route;
  inner: Route;
  other: Route;
}

/** The pool, reset (every backend echoing, listening, nothing recorded), and the prefix of each backend. */
async function setup(ctx: CheckContext): Promise<Routes> {
  const pool = backends.of(ctx);
  await pool.reset();
  const byUrl = new Map<string, string>();
  for (const pair of ctx.env.ROUTES.split(',')) {
    const eq = pair.indexOf('=');
    byUrl.set(pair.slice(eq + 1), pair.slice(0, eq));
  }
  const route = (name: string): Route => {
    const backend = pool.get(name);
    return { prefix: byUrl.get(backend.url)!, backend };
  };
  return { pool, outer: route('outer'), inner: route('inner'), other: route('other') };
}

const timeoutOf = (ctx: CheckContext) => Number(ctx.env.UPSTREAM_TIMEOUT_MS);

// A raw HTTP client (grader/probe/raw-http.ts): exact targets, header lines in order and case, any header.
type SendOptions = RawRequestOptions;
type Answer = RawResponse;
const send = (ctx: CheckContext, o: SendOptions): Promise<Answer> => rawHttp({ port: ctx.server.port, signal: ctx.signal, who: 'your proxy' }, o);

// --- reading what a backend received ------------------------------------------------------------------

/** Every value of header `name` (case-insensitive), line by line, in order. */
function values(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name.toLowerCase()) out.push(raw[i + 1]);
  return out;
}

/** The lines of header `name` joined with ", " (their combined value), or undefined. */
function joined(raw: string[], name: string): string | undefined {
  const v = values(raw, name);
  return v.length ? v.join(', ') : undefined;
}

/** A comma-separated list's members, trimmed. */
function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function showHeaders(raw: string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return lines.join('\n') || '(no headers)';
}

function showRequest(r: BackendRequest): string {
  return `${r.method} ${r.path}\n${showHeaders(r.rawHeaders)}`;
}

function fail(message: string, details: { expected?: string; received?: string; answer?: Answer; hint?: string } = {}): never {
  throw new CheckFailure({ message, expected: details.expected, received: details.received, exchange: details.answer?.exchange, hint: details.hint });
}

function check(cond: unknown, message: string, details: { expected?: string; received?: string; answer?: Answer; hint?: string } = {}): asserts cond {
  if (!cond) fail(message, details);
}

function describeAnswer(a: Answer): string {
  const text = a.body.subarray(0, 300).toString('utf8');
  return `HTTP ${a.status}\n${showHeaders(a.rawHeaders)}\n\n${text}${a.bytes > 300 ? `... (${a.bytes} bytes)` : ''}`;
}

function expectStatus(a: Answer, status: number, message: string, hint?: string): void {
  check(a.status === status, message, { expected: `HTTP ${status}`, received: describeAnswer(a), answer: a, hint });
}

/** Which backends received a request, by prefix, for messages. */
function whoGot(routes: Routes): string {
  const got = [routes.outer, routes.inner, routes.other].filter((r) => r.backend.requests.length > 0);
  if (!got.length) return 'no backend received anything';
  return got.map((r) => `the backend of ${r.prefix} received ${r.backend.requests.map((q) => `${q.method} ${q.path}`).join(', ')}`).join('; ');
}

/** The only request a backend received in this step, or a failure that says what happened instead. */
function onlyRequest(routes: Routes, route: Route, sent: string, a: Answer): BackendRequest {
  const all = routes.pool.requests();
  check(route.backend.requests.length === 1 && all.length === 1, `${sent} must reach exactly one backend, the one of prefix ${route.prefix} (${route.backend.url}), once; ${whoGot(routes)}.`, {
    expected: `one request at ${route.backend.url}`,
    received: `${whoGot(routes)}; your proxy answered HTTP ${a.status}`,
    answer: a,
  });
  return route.backend.requests[0];
}

const ipSeg = (r: Random) => r.int(1, 254);

// --- Forwarded (RFC 7239) parsing, lenient: elements by comma, pairs by semicolon, quoted-strings unquoted -----

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted && ch === '\\' && i + 1 < s.length) {
      cur += ch + s[++i];
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

/** An element's parameters (lower-cased names), values unquoted; with `raw`, as written. */
function forwardedElement(el: string, raw = false): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of splitOutsideQuotes(el, ';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    let v = pair.slice(eq + 1).trim();
    if (raw) {
      out.set(pair.slice(0, eq).trim().toLowerCase(), v);
      continue;
    }
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    out.set(pair.slice(0, eq).trim().toLowerCase(), v);
  }
  return out;
}

const peerAddress = (v: string | undefined) => (v ?? '').replace(/^\[(.*)\]$/, '$1');

// --- streaming helpers --------------------------------------------------------------------------------

const MB = 1024 * 1024;
const UPLOAD_BYTES = 50 * MB;
const RSS_BOUND = 64 * MB;
const RESPONSE_BYTES = 20 * MB;

/** Polls `cond` every 10 ms until it holds (true) or `ms` passed (false). */
async function waitUntil(cond: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end || signal.aborted) return cond();
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Writes `chunk` and waits for 'drain' when the socket buffer is full. */
function write(req: ClientRequest, chunk: Buffer): Promise<void> {
  if (req.destroyed || req.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.once('drain', done);
    req.once('close', done);
  });
}

const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

// --- WebSocket helpers --------------------------------------------------------------------------------

/** Within how long the proxy closes one side of a tunnel after the other closed (README), and the grader's slack. */
const CLOSE_BOUND = 2000;
const CLOSE_SLACK = 1000;

/** What the backend saw on one upgraded connection. */
interface Tunnel {
  path: string;
  texts: string[];
  /** SHA-256 of each binary message. */
  binaries: string[];
}

/** A ctx.ws client through the proxy; a refused handshake names what the backends saw (a plain GET: Upgrade stripped). */
async function wsConnect(ctx: CheckContext, routes: Routes, path: string, options: WsConnectOptions): Promise<WsClient> {
  try {
    return await ctx.ws.connect(path, { timeoutMs: 8000, ...options });
  } catch (err) {
    if (!(err instanceof CheckFailure)) throw err;
    const got = routes.pool.requests().filter((r) => r.path === path);
    const plain = got.find((r) => !r.upgrade);
    const cause = plain
      ? ` The backend received a plain ${plain.method} ${plain.path} without Upgrade: websocket / Connection: Upgrade, and answered it like any request: your proxy stripped them as hop-by-hop headers. An upgrade is the one exception: forward them (Node: handle the server's 'upgrade' event, which plain request handlers never see).`
      : got.length
        ? ` The backend received the upgrade request and answered 101 Switching Protocols: your proxy did not pass that answer on.`
        : ` No backend received the handshake (${whoGot(routes)}).`;
    throw new CheckFailure({ ...err.details, message: `${err.details.message}${cause}` });
  }
}

/** Adds the likely cause to a probe's failure. */
async function explained<T>(p: Promise<T>, cause: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof CheckFailure) throw new CheckFailure({ ...err.details, message: `${err.details.message} ${cause}` });
    throw err;
  }
}

const randomKey = (r: Random) => Buffer.from(r.string(16)).toString('base64');

// --- the lab ------------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'reverse-proxy',
    title: 'Reverse proxy: routing, forwarded headers, streaming and upstream failures',
    track: 'scaling',
    summary:
      'A reverse proxy in front of backends the grader hosts: longest-prefix routing, X-Forwarded-For/-Proto/-Host and Forwarded, hop-by-hop headers stripped both ways, 50 MB bodies streamed with bounded memory, 504 on a hanging backend, 502 on a refused one, path traversal refused, WebSocket upgrades tunnelled both ways with closes propagated.',
    difficulty: 'intermediate',
    estimatedMinutes: 150,
    questions: [21],
    env: {
      ROUTES: {
        description: 'Comma-separated prefix=url pairs: the path prefixes and the backends (hosted by the grader) they go to; the longest matching prefix wins.',
        value: (r, run) => hostRoutes(r, run),
      },
      UPSTREAM_TIMEOUT_MS: {
        description: 'How long to wait for a backend to send its response headers, in milliseconds: then 504.',
        value: (r) => String(r.int(7, 10) * 100),
      },
    },
    checks: [
      {
        id: 'routing',
        title: 'Each prefix reaches its backend, the longest prefix wins, the target arrives byte-for-byte; no match is 404',
        hint: 'Sort the routes by prefix length, longest first, and take the first whose prefix the path starts with; forward `req.url` (path and query) unchanged; answer 404 yourself when nothing matches.',
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer, inner, other } = routes;
          const id = ctx.random.string(8);
          const segment = inner.prefix.slice(outer.prefix.length, -1);
          const cases: { method: string; path: string; to: Route; why: string }[] = [
            { method: 'GET', path: `${outer.prefix}items/${id}?sort=-price&tag=a%2Fb&q=caf%C3%A9&q=`, to: outer, why: `it starts with ${outer.prefix}` },
            { method: 'DELETE', path: `${inner.prefix}orders/%7E${id};v=1?x=1&x=2`, to: inner, why: `both ${outer.prefix} and ${inner.prefix} match, and the longest prefix wins (even though ${outer.prefix} comes first in ROUTES)` },
            { method: 'GET', path: inner.prefix, to: inner, why: `it is exactly the prefix ${inner.prefix}` },
            { method: 'PATCH', path: `${outer.prefix}${segment}x/${id}`, to: outer, why: `${inner.prefix} does not match (${segment}x is not ${segment}/), so the longest match is ${outer.prefix}` },
            { method: 'GET', path: `${other.prefix}img/${id}.png?w=%20100`, to: other, why: `it starts with ${other.prefix}` },
          ];
          for (const c of ctx.random.shuffle(cases)) {
            for (const b of routes.pool.backends) b.requests.length = 0;
            const a = await send(ctx, { method: c.method, path: c.path });
            const got = onlyRequest(routes, c.to, `${c.method} ${c.path} (${c.why})`, a);
            check(got.path === c.path && got.method === c.method, `${c.method} ${c.path} must reach the backend of ${c.to.prefix} with the same method and the request target byte-for-byte (no prefix stripped, nothing decoded or normalised).`, {
              expected: `${c.method} ${c.path}`,
              received: `${got.method} ${got.path}`,
              answer: a,
            });
            expectStatus(a, 200, `${c.method} ${c.path}: the backend answered 200 (its JSON echo), so your proxy must answer 200 with it.`);
            check(a.headers['x-backend'] === c.to.backend.name, `The backend's answer (with its header X-Backend: ${c.to.backend.name}) must reach the client.`, { expected: `X-Backend: ${c.to.backend.name}`, received: describeAnswer(a), answer: a });
          }
          let unknown = ctx.random.word(5, 8);
          while ([outer, inner, other].some((r) => `/${unknown}/`.startsWith(r.prefix))) unknown = ctx.random.word(5, 8);
          const misses = [`/${unknown}/${id}`, outer.prefix.slice(0, -1), `${outer.prefix.slice(0, -1)}x/${id}`, '/'];
          for (const path of misses) {
            for (const b of routes.pool.backends) b.requests.length = 0;
            let a: Answer;
            try {
              a = await send(ctx, { path, timeoutMs: timeoutOf(ctx) + 3000 });
            } catch (err) {
              if (err instanceof CheckFailure && err.details.transport === 'timeout') {
                fail(`GET ${path} matches no route, so your proxy must answer 404 at once; it did not answer within ${timeoutOf(ctx) + 3000} ms. A proxy that forwards unmatched requests somewhere (to itself, in a loop?) never answers.`, {
                  expected: 'HTTP 404 at once, no backend contacted',
                  received: err.message,
                });
              }
              throw err;
            }
            const loop =
              a.status !== 404 && a.status !== 400 && routes.pool.requests().length === 0
                ? ` No backend received it, yet your proxy answered ${a.status}: did it forward the request to itself? In such a loop every hop appends to X-Forwarded-For until the headers are too large (431) or the first hop times out (504).`
                : '';
            check(a.status === 404 && routes.pool.requests().length === 0, `GET ${path} matches no route (a prefix matches only when the path starts with all of it, trailing slash included), so your proxy must answer 404 itself without contacting any backend.${loop}`, {
              expected: 'HTTP 404, no backend contacted',
              received: `HTTP ${a.status}; ${whoGot(routes)}`,
              answer: a,
            });
          }
        },
      },
      {
        id: 'pass-through',
        title: "The backend's status, headers and body reach the client unchanged (503 stays 503); request bodies reach the backend intact",
        hint: "Answer with the backend's own status code and headers and pipe its body; 502/504 are only for when there is no answer. Pipe the request body to the backend whatever its framing (Content-Length or chunked).",
        async run(ctx) {
          const { outer, other } = await setup(ctx);
          const id = ctx.random.string(10);
          const retry = String(ctx.random.int(5, 120));
          const busy = `backend ${id} is in maintenance\n`;
          other.backend.behave({ kind: 'status', status: 503, body: busy, headers: { 'retry-after': retry } });
          const a503 = await send(ctx, { path: `${other.prefix}status/${id}` });
          check(a503.status === 503 && a503.body.toString() === busy && a503.headers['retry-after'] === retry, `The backend answered 503 with Retry-After: ${retry} and a body: your proxy must pass that answer as it is (502 is for when the backend gives no answer at all, not for a backend's own 5xx).`, {
            expected: `HTTP 503\nRetry-After: ${retry}\n\n${busy}`,
            received: describeAnswer(a503),
            answer: a503,
          });
          const notFound = JSON.stringify({ error: `no item ${id}` });
          outer.backend.behave({ kind: 'status', status: 404, body: notFound, headers: { 'content-type': 'application/json' } });
          const a404 = await send(ctx, { path: `${outer.prefix}items/${id}` });
          check(a404.status === 404 && a404.body.toString() === notFound && String(a404.headers['content-type']) === 'application/json', `The backend answered 404 with a JSON body: the client must get exactly that (not your proxy's own 404).`, {
            expected: `HTTP 404\nContent-Type: application/json\n\n${notFound}`,
            received: describeAnswer(a404),
            answer: a404,
          });
          const location = `${outer.prefix}orders/${id}`;
          outer.backend.behave({ kind: 'status', status: 201, body: '', headers: { location } });
          const a201 = await send(ctx, { method: 'POST', path: `${outer.prefix}orders`, body: Buffer.from('{}'), headers: [['Content-Type', 'application/json']] });
          check(a201.status === 201 && a201.headers.location === location && a201.bytes === 0, 'The backend answered 201 with a Location header and no body: the client must get exactly that.', {
            expected: `HTTP 201\nLocation: ${location}\n\n(empty body)`,
            received: describeAnswer(a201),
            answer: a201,
          });
          await setup(ctx);
          const body = seededBytes(ctx.random, ctx.random.int(150_000, 250_000));
          const sha = createHash('sha256').update(body).digest('hex');
          const put = await send(ctx, { method: 'PUT', path: `${outer.prefix}files/${id}`, body, headers: [['Content-Type', 'application/octet-stream']] });
          expectStatus(put, 200, `PUT ${outer.prefix}files/${id} with a ${body.length}-byte body: the backend answered 200, so must your proxy.`);
          const gotPut = outer.backend.requests[0];
          check(gotPut?.method === 'PUT' && gotPut.bodyBytes === body.length && gotPut.bodySha256 === sha, `A PUT body of ${body.length} bytes (Content-Length) must reach the backend byte-for-byte.`, {
            expected: `PUT with ${body.length} bytes, sha256 ${sha}`,
            received: gotPut ? `${gotPut.method} with ${gotPut.bodyBytes} bytes, sha256 ${gotPut.bodySha256}` : 'no request',
            answer: put,
          });
          const chunks = [0, 1, 2, 3].map(() => seededBytes(ctx.random, ctx.random.int(5_000, 40_000)));
          const all = Buffer.concat(chunks);
          const chunkedSha = createHash('sha256').update(all).digest('hex');
          const post = await send(ctx, { method: 'POST', path: `${other.prefix}upload/${id}`, chunks, headers: [['Content-Type', 'application/octet-stream']] });
          expectStatus(post, 200, `POST ${other.prefix}upload/${id} with a chunked body: the backend answered 200, so must your proxy.`);
          const gotPost = other.backend.requests[0];
          check(gotPost?.bodyBytes === all.length && gotPost.bodySha256 === chunkedSha, `A POST body sent with Transfer-Encoding: chunked (${chunks.length} chunks, ${all.length} bytes) must reach the backend byte-for-byte (forward it chunked, or with its length).`, {
            expected: `${all.length} bytes, sha256 ${chunkedSha}`,
            received: gotPost ? `${gotPost.bodyBytes} bytes, sha256 ${gotPost.bodySha256}` : 'no request',
            answer: post,
          });
          const echo = JSON.parse(post.body.toString() || 'null') as { bodySha256?: string } | null;
          check(echo?.bodySha256 === chunkedSha, "The backend's JSON answer must reach the client unchanged.", { expected: `a JSON echo with "bodySha256": "${chunkedSha}"`, received: describeAnswer(post), answer: post });
        },
      },
      {
        id: 'x-forwarded-for',
        title: "X-Forwarded-For: the client's values, then the peer's address appended",
        hint: "Join every X-Forwarded-For line the client sent with ', ', then append ', ' + req.socket.remoteAddress; with none, send just the address. Never replace the client's chain, never pass it on without your peer.",
        async run(ctx) {
          const routes = await setup(ctx);
          const { other } = routes;
          const path = `${other.prefix}whoami/${ctx.random.string(6)}`;
          const plain = await send(ctx, { path });
          const r1 = onlyRequest(routes, other, `GET ${path}`, plain);
          const first = list(joined(r1.rawHeaders, 'x-forwarded-for'));
          check(first.length === 1 && isIP(first[0]) !== 0, `GET ${path} came without X-Forwarded-For, so the backend must receive X-Forwarded-For with exactly one value: the address of the client connected to your proxy (127.0.0.1 for the grader).`, {
            expected: 'X-Forwarded-For: 127.0.0.1',
            received: `X-Forwarded-For: ${joined(r1.rawHeaders, 'x-forwarded-for') ?? '(absent)'}`,
            answer: plain,
          });
          const peer = first[0];
          const chain = [`203.0.113.${ipSeg(ctx.random)}`, `198.51.100.${ipSeg(ctx.random)}`, `192.0.2.${ipSeg(ctx.random)}`];
          await setup(ctx);
          const sent: [string, string][] = [
            ['X-Forwarded-For', chain[0]],
            ['X-Request-Id', ctx.random.string(12)],
            ['x-forwarded-for', `${chain[1]}, ${chain[2]}`],
          ];
          const a = await send(ctx, { path, headers: sent });
          const r2 = onlyRequest(routes, other, `GET ${path}`, a);
          const got = list(joined(r2.rawHeaders, 'x-forwarded-for'));
          const expected = [...chain, peer];
          const why =
            got.length === 1 && got[0] === peer
              ? " Your proxy replaced the client's chain with its peer: append to it instead."
              : got.join() === chain.join()
                ? ' Your proxy passed the client\'s value on without adding its peer: the client could claim any address, and the chain must end with the one you saw.'
                : got.join() === [chain[0], peer].join()
                  ? ' Your proxy kept only the first X-Forwarded-For line: read all of them.'
                  : '';
          check(got.join(', ') === expected.join(', '), `The client sent X-Forwarded-For in two lines (${chain[0]} / ${chain[1]}, ${chain[2]}): the backend must receive all three, in order, followed by the peer's address ${peer}.${why}`, {
            expected: `X-Forwarded-For: ${expected.join(', ')}`,
            received: `X-Forwarded-For: ${joined(r2.rawHeaders, 'x-forwarded-for') ?? '(absent)'}`,
            answer: a,
          });
        },
      },
      {
        id: 'forwarded-proto-host',
        title: "Host is the backend's; X-Forwarded-Proto: http and X-Forwarded-Host replace the client's; a Forwarded element is appended",
        hint: "Set Host to the backend's host:port, X-Forwarded-Proto to http and X-Forwarded-Host to the client's Host, dropping any values the client sent in these; append `for=<peer>;host=\"<Host>\";proto=http` to the client's Forwarded.",
        async run(ctx) {
          const routes = await setup(ctx);
          const { other } = routes;
          const host = `shop-${ctx.random.string(6)}.example:${ctx.random.int(1025, 65000)}`;
          const clientElement = `for=192.0.2.${ipSeg(ctx.random)};proto=https`;
          const path = `${other.prefix}where/${ctx.random.string(6)}`;
          const a = await send(ctx, {
            path,
            headers: [
              ['Host', host],
              ['X-Forwarded-Proto', 'https'],
              ['X-Forwarded-Host', `evil-${ctx.random.string(5)}.example`],
              ['Forwarded', clientElement],
            ],
          });
          const r = onlyRequest(routes, other, `GET ${path}`, a);
          const authority = new URL(other.backend.url).host;
          const got = (name: string) => `${name}: ${values(r.rawHeaders, name).join(' | ') || '(absent)'}`;
          check(joined(r.rawHeaders, 'host') === authority, `The backend must receive Host: ${authority} (its own host:port from ROUTES); the client's Host (${host}) goes in X-Forwarded-Host.`, {
            expected: `Host: ${authority}`,
            received: got('Host'),
            answer: a,
          });
          check(joined(r.rawHeaders, 'x-forwarded-proto') === 'http', `The client came over plain HTTP, so the backend must receive X-Forwarded-Proto: http, and only that: the client sent X-Forwarded-Proto: https, which your proxy must not trust.`, {
            expected: 'X-Forwarded-Proto: http',
            received: got('X-Forwarded-Proto'),
            answer: a,
          });
          check(joined(r.rawHeaders, 'x-forwarded-host') === host, `The backend must receive X-Forwarded-Host with the Host the client sent (${host}), and only that (not the client's own X-Forwarded-Host).`, {
            expected: `X-Forwarded-Host: ${host}`,
            received: got('X-Forwarded-Host'),
            answer: a,
          });
          const peer = list(joined(r.rawHeaders, 'x-forwarded-for')).at(-1) ?? '127.0.0.1';
          const elements = splitOutsideQuotes(joined(r.rawHeaders, 'forwarded') ?? '', ',');
          const last = forwardedElement(elements.at(-1) ?? '');
          const lastRaw = forwardedElement(elements.at(-1) ?? '', true);
          const expectedElement = `for=${peer.includes(':') ? `"[${peer}]"` : peer};host="${host}";proto=http`;
          const ok =
            elements.length === 2 &&
            elements[0].replace(/\s/g, '') === clientElement &&
            peerAddress(last.get('for')) === peer &&
            last.get('host') === host &&
            last.get('proto') === 'http' &&
            last.size === 3 &&
            // host:port is not a token, an IPv6 address must be "[...]": both quoted.
            (lastRaw.get('host') ?? '').startsWith('"') &&
            (!peer.includes(':') || lastRaw.get('for') === `"[${peer}]"`);
          check(ok, `The client sent Forwarded: ${clientElement}. The backend must receive that element followed by one of your proxy's own: for=<peer>, host=<the client's Host>, proto=http (IPv6 and host:port in double quotes).`, {
            expected: `Forwarded: ${clientElement}, ${expectedElement}`,
            received: got('Forwarded'),
            answer: a,
          });
        },
      },
      {
        id: 'hop-by-hop-request',
        title: 'Hop-by-hop request headers (Connection and the headers it names, Keep-Alive, TE, Upgrade, Proxy-*) are not forwarded; end-to-end ones are',
        hint: 'Read the Connection header(s) first: its tokens name more hop-by-hop headers. Drop those and Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade and Proxy-Authorization; forward every other header line as it is.',
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer } = routes;
          const hopName = `X-Hop-${ctx.random.word(4, 6)}`;
          const keepAlive = `timeout=${ctx.random.int(11, 99)}, max=${ctx.random.int(101, 999)}`;
          const proxyAuth = `Basic ${Buffer.from(`proxyuser:${ctx.random.string(10)}`).toString('base64')}`;
          const upgrade = `${ctx.random.word(4, 6)}/${ctx.random.int(2, 9)}`;
          const endToEnd: [string, string][] = [
            ['Accept', 'text/html'],
            ['X-Request-Id', ctx.random.string(16)],
            ['Authorization', `Bearer ${ctx.random.string(24)}`],
            ['Accept', 'application/json;q=0.9'],
            ['Cookie', `session=${ctx.random.string(12)}; theme=dark`],
            [`x-MiXeD-${ctx.random.word(3, 5)}`, ctx.random.string(10)],
            ['X-Tag', `first-${ctx.random.string(4)}`],
            ['X-Tag', `second-${ctx.random.string(4)}`],
          ];
          const hop: [string, string][] = [
            ['Connection', `keep-alive, ${hopName}`],
            [hopName, `secret-${ctx.random.string(8)}`],
            ['Keep-Alive', keepAlive],
            ['Proxy-Connection', 'keep-alive'],
            ['TE', 'trailers'],
            ['Trailer', 'X-Checksum'],
            ['Upgrade', upgrade],
            ['Proxy-Authorization', proxyAuth],
          ];
          const headers = ctx.random.shuffle([...endToEnd, ...hop]);
          const path = `${outer.prefix}headers/${ctx.random.string(6)}`;
          const chunks = [Buffer.from(`{"n":${ctx.random.int(1, 999)},`), Buffer.from(`"s":"${ctx.random.string(8)}"}`)];
          const a = await send(ctx, { method: 'POST', path, headers, chunks });
          const r = onlyRequest(routes, outer, `POST ${path}`, a);
          const leaked: string[] = [];
          for (const [name, value] of hop) {
            const got = values(r.rawHeaders, name);
            if (name === 'Connection') {
              const tokens = got.flatMap((v) => list(v.toLowerCase()));
              if (tokens.some((t) => t !== 'keep-alive' && t !== 'close')) leaked.push(`Connection: ${got.join(', ')} (names the client's ${hopName})`);
            } else if (name === 'Keep-Alive') {
              if (got.includes(value)) leaked.push(`Keep-Alive: ${value} (the client's)`);
            } else if (got.length) leaked.push(`${name}: ${got.join(', ')}`);
          }
          check(leaked.length === 0, `Hop-by-hop headers the client sent reached the backend: ${leaked.join('; ')}. They concern only the client's connection to your proxy${leaked.some((l) => l.startsWith(hopName)) ? `; ${hopName} is hop-by-hop because the client's Connection header names it` : ''}.`, {
            expected: `none of: ${hop.map(([n]) => n).join(', ')} (your own Connection: keep-alive is fine)`,
            received: showRequest(r),
            answer: a,
          });
          const missing: string[] = [];
          const names = [...new Set(endToEnd.map(([n]) => n))];
          for (const name of names) {
            const want = headers.filter(([n]) => n === name).map(([, v]) => v).join(', ');
            const got = joined(r.rawHeaders, name);
            if (got !== want) missing.push(`${name}: expected ${want}, got ${got ?? '(absent)'}`);
          }
          check(missing.length === 0, `End-to-end request headers must reach the backend unchanged (repeated ones in their order): ${missing.join('; ')}.`, {
            expected: headers.filter(([n]) => names.includes(n)).map(([n, v]) => `${n}: ${v}`).join('\n'),
            received: showRequest(r),
            answer: a,
          });
        },
      },
      {
        id: 'hop-by-hop-response',
        title: "Hop-by-hop response headers are not forwarded; Set-Cookie lines, repeated headers and the body are",
        hint: "Filter the backend's raw response headers the same way as the request's (Connection and what it names, Keep-Alive, Proxy-Authenticate...) and keep repeated lines apart: each Set-Cookie is its own line.",
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer } = routes;
          const hopName = `X-Backend-Hop-${ctx.random.word(4, 6)}`;
          const keepAlive = `timeout=${ctx.random.int(11, 99)}, max=${ctx.random.int(101, 999)}`;
          const realm = `Basic realm="${ctx.random.word(5, 8)}"`;
          const cookies = [`sid=${ctx.random.string(16)}; Path=/; HttpOnly`, `pref=${ctx.random.string(6)}; Max-Age=3600`];
          const tags = [`one-${ctx.random.string(4)}`, `two-${ctx.random.string(4)}`];
          const etag = `"${ctx.random.string(12)}"`;
          const mixed = `X-MiXeD-${ctx.random.word(3, 5)}`;
          const mixedValue = ctx.random.string(10);
          const body = `hello ${ctx.random.string(20)}\n`;
          outer.backend.behave({
            kind: 'custom',
            handle: (_req, res: ServerResponse) => {
              res.writeHead(200, [
                'Content-Type', 'text/plain; charset=utf-8',
                'Connection', `keep-alive, ${hopName}`,
                hopName, `secret-${ctx.random.string(6)}`,
                'Keep-Alive', keepAlive,
                'Proxy-Authenticate', realm,
                'Set-Cookie', cookies[0],
                'X-Tag', tags[0],
                'Set-Cookie', cookies[1],
                'X-Tag', tags[1],
                'ETag', etag,
                'Cache-Control', 'private, max-age=7',
                mixed, mixedValue,
                'Content-Length', String(Buffer.byteLength(body)),
              ]);
              res.end(body);
            },
          });
          const path = `${outer.prefix}page/${ctx.random.string(6)}`;
          const a = await send(ctx, { path });
          expectStatus(a, 200, `GET ${path}: the backend answered 200, so must your proxy.`);
          const leaked: string[] = [];
          const conn = values(a.rawHeaders, 'connection').flatMap((v) => list(v.toLowerCase()));
          if (conn.includes(hopName.toLowerCase())) leaked.push(`Connection: ${values(a.rawHeaders, 'connection').join(', ')}`);
          if (values(a.rawHeaders, hopName).length) leaked.push(`${hopName}: ${joined(a.rawHeaders, hopName)} (named in the backend's Connection header)`);
          if (values(a.rawHeaders, 'keep-alive').includes(keepAlive)) leaked.push(`Keep-Alive: ${keepAlive} (the backend's)`);
          if (values(a.rawHeaders, 'proxy-authenticate').length) leaked.push(`Proxy-Authenticate: ${joined(a.rawHeaders, 'proxy-authenticate')}`);
          check(leaked.length === 0, `Hop-by-hop headers of the backend's answer reached the client: ${leaked.join('; ')}. They concern only the connection between your proxy and the backend.`, {
            expected: `none of the backend's Connection: keep-alive, ${hopName} / ${hopName} / Keep-Alive: ${keepAlive} / Proxy-Authenticate`,
            received: describeAnswer(a),
            answer: a,
          });
          const problems: string[] = [];
          const gotCookies = values(a.rawHeaders, 'set-cookie');
          if (gotCookies.join('\n') !== cookies.join('\n')) problems.push(`Set-Cookie: expected the two lines ${cookies.map((c) => `"${c}"`).join(' and ')}, got ${gotCookies.length ? gotCookies.map((c) => `"${c}"`).join(' and ') : 'none'}`);
          for (const [name, want] of [['X-Tag', tags.join(', ')], ['ETag', etag], ['Cache-Control', 'private, max-age=7'], [mixed, mixedValue], ['Content-Type', 'text/plain; charset=utf-8']] as const) {
            const got = joined(a.rawHeaders, name);
            if (got !== want) problems.push(`${name}: expected ${want}, got ${got ?? '(absent)'}`);
          }
          if (a.body.toString() !== body) problems.push(`the body: expected ${JSON.stringify(body)}, got ${JSON.stringify(a.body.toString().slice(0, 200))}`);
          check(problems.length === 0, `The backend's end-to-end headers and body must reach the client unchanged: ${problems.join('; ')}.`, { received: describeAnswer(a), answer: a });
        },
      },
      {
        id: 'streaming-upload',
        title: 'A 50 MB upload reaches the backend intact, streamed (first bytes before the client finished), with bounded memory',
        hint: "Pipe the client's request into the upstream request as it arrives (req.pipe(upstreamReq)); never collect the chunks or Buffer.concat the body, not even to keep a copy.",
        timeoutMs: 45_000,
        async run(ctx) {
          const routes = await setup(ctx);
          const { other } = routes;
          const warm = await send(ctx, { method: 'POST', path: `${other.prefix}warm-up`, body: seededBytes(ctx.random, 256 * 1024) });
          expectStatus(warm, 200, `POST ${other.prefix}warm-up: the backend answered 200, so must your proxy.`);
          await setup(ctx);
          const block = seededBytes(ctx.random, MB);
          const hash = createHash('sha256');
          const heldBack = MB;
          let sent = 0;
          let reachedEarly = false;
          let rssBefore = ctx.server.rssBytes();
          for (let i = 0; i < 3; i++) {
            await ctx.sleep(30);
            const now = ctx.server.rssBytes();
            if (now !== undefined && rssBefore !== undefined) rssBefore = Math.min(rssBefore, now);
          }
          let rssMax = rssBefore ?? 0;
          const sample = () => {
            const now = ctx.server.rssBytes();
            if (now !== undefined) rssMax = Math.max(rssMax, now);
          };
          const sampler = setInterval(sample, 20);
          const path = `${other.prefix}upload/${ctx.random.string(8)}`;
          let a: Answer;
          try {
            a = await send(ctx, {
              method: 'POST',
              path,
              headers: [
                ['Content-Type', 'application/octet-stream'],
                ['Content-Length', String(UPLOAD_BYTES)],
              ],
              bodyNote: `(${UPLOAD_BYTES} bytes of binary data not shown)`,
              timeoutMs: 40_000,
              write: async (req) => {
                req.flushHeaders();
                for (let i = 0; i < UPLOAD_BYTES / MB && !req.destroyed; i++) {
                  // Piece i of 1 MB: the block with its index in the first 4 bytes, so no two are alike.
                  const piece = Buffer.from(block);
                  piece.writeUInt32BE(i, 0);
                  if (sent + MB > UPLOAD_BYTES - heldBack && !reachedEarly) {
                    reachedEarly = await waitUntil(() => (other.backend.requests[0]?.firstBodyByteAt ?? undefined) !== undefined, 5000, ctx.signal);
                  }
                  hash.update(piece);
                  for (let off = 0; off < MB; off += 64 * 1024) await write(req, piece.subarray(off, off + 64 * 1024));
                  if (!req.destroyed) sent += MB;
                }
              },
            });
          } finally {
            clearInterval(sampler);
          }
          sample();
          const sha = hash.digest('hex');
          const got = other.backend.requests[0];
          check(sent === UPLOAD_BYTES, `POST ${path}: your proxy answered HTTP ${a.status} after the client had sent only ${mb(sent)} of ${mb(UPLOAD_BYTES)}, and closed the connection. It must forward the whole body and answer with the backend's answer (UPSTREAM_TIMEOUT_MS counts from the end of the request, not while the body is still being sent).`, {
            expected: `the backend's 200 after the whole ${mb(UPLOAD_BYTES)}`,
            received: describeAnswer(a),
            answer: a,
          });
          check(reachedEarly, `The backend received no byte of the upload while the client was still sending it: the grader sent ${mb(UPLOAD_BYTES - heldBack)} and waited 5 s before the last ${mb(heldBack)}, and nothing had arrived. Your proxy buffers the whole body before forwarding it; stream it instead (pipe it as it arrives).`, {
            expected: `the first body bytes at the backend before the client's last ${mb(heldBack)}`,
            received: got ? `the backend got the request only after the client finished (its first body byte came when the whole ${mb(UPLOAD_BYTES)} had been sent)` : 'no request at the backend',
            answer: a,
          });
          expectStatus(a, 200, `POST ${path} (${mb(UPLOAD_BYTES)}): the backend answered 200, so must your proxy.`);
          check(got?.bodyBytes === UPLOAD_BYTES && got.bodySha256 === sha, `The ${mb(UPLOAD_BYTES)} upload must reach the backend byte-for-byte.`, {
            expected: `${UPLOAD_BYTES} bytes, sha256 ${sha}`,
            received: got ? `${got.bodyBytes} bytes, sha256 ${got.bodySha256}` : 'no request',
            answer: a,
          });
          if (rssBefore === undefined) {
            ctx.note("your proxy's memory cannot be read under this runtime: the memory bound is not checked");
            return;
          }
          const growth = rssMax - rssBefore;
          ctx.note(`your proxy's RSS: ${mb(rssBefore)} before the upload, at most ${mb(rssMax)} during it (+${mb(growth)})`);
          check(growth < RSS_BOUND, `Your proxy's resident memory grew by ${mb(growth)} while the ${mb(UPLOAD_BYTES)} upload passed through (from ${mb(rssBefore)} to ${mb(rssMax)}): it holds the body (or a copy of it) in memory. Memory must stay bounded by a buffer, not grow with the body.`, {
            expected: `growth under ${mb(RSS_BOUND)}`,
            received: `+${mb(growth)}`,
            answer: a,
          });
        },
      },
      {
        id: 'streaming-response',
        title: 'A 20 MB response reaches the client intact, streamed (first bytes before the backend finished)',
        hint: "Write the backend's status and headers as soon as they arrive and pipe its body (upstreamRes.pipe(res)); do not collect it to send it at once.",
        timeoutMs: 30_000,
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer } = routes;
          const block = seededBytes(ctx.random, MB);
          const hash = createHash('sha256');
          let clientGot = 0;
          let firstByte!: () => void;
          const firstBytePromise = new Promise<void>((r) => (firstByte = r));
          let clientFirstEarly: boolean | undefined;
          outer.backend.behave({
            kind: 'custom',
            handle: async (_req, res: ServerResponse) => {
              res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
              for (let i = 0; i < RESPONSE_BYTES / MB; i++) {
                const piece = Buffer.from(block);
                piece.writeUInt32BE(i, 0);
                hash.update(piece);
                const ok = res.write(piece);
                if (i === 0) {
                  // Pause after the first megabyte until the client has some of it (or 5 s).
                  clientFirstEarly = await Promise.race([firstBytePromise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
                } else if (!ok && !res.destroyed) {
                  await new Promise((r) => {
                    res.once('drain', r);
                    res.once('close', r);
                  });
                }
                if (res.destroyed) return;
              }
              res.end();
            },
          });
          const path = `${outer.prefix}download/${ctx.random.string(8)}`;
          const a = await send(ctx, {
            path,
            timeoutMs: 25_000,
            onData: (c) => {
              clientGot += c.length;
              firstByte();
            },
          });
          check(clientFirstEarly === true, `The backend sent the status, headers and first ${mb(MB)} of a ${mb(RESPONSE_BYTES)} response and waited 5 s for the client to receive some of it: nothing arrived. Your proxy collects the whole response before answering; stream it instead.`, {
            expected: 'the first bytes at the client while the backend is still sending',
            received: 'nothing until the backend had sent everything',
            answer: a,
          });
          expectStatus(a, 200, `GET ${path}: the backend answered 200, so must your proxy.`);
          const sha = hash.digest('hex');
          check(a.bytes === RESPONSE_BYTES && a.sha256 === sha && clientGot === RESPONSE_BYTES, `The ${mb(RESPONSE_BYTES)} response must reach the client byte-for-byte.`, {
            expected: `${RESPONSE_BYTES} bytes, sha256 ${sha}`,
            received: `${a.bytes} bytes, sha256 ${a.sha256}`,
            answer: a,
          });
        },
      },
      {
        id: 'upstream-timeout',
        title: 'A backend that answers within UPSTREAM_TIMEOUT_MS gets through; one that hangs gives 504 soon after it',
        hint: 'Start a timer of UPSTREAM_TIMEOUT_MS when the request is sent upstream and clear it when the response headers arrive; when it fires, destroy the upstream request and answer 504 (not 502: the backend did not fail, it was too slow).',
        timeoutMs: 20_000,
        async run(ctx) {
          const routes = await setup(ctx);
          const { other } = routes;
          const t = timeoutOf(ctx);
          const slow = Math.round(t / 3);
          other.backend.behave({ kind: 'delay', ms: slow });
          const okPath = `${other.prefix}slow/${ctx.random.string(6)}`;
          const ok = await send(ctx, { path: okPath, timeoutMs: t + 5000 });
          expectStatus(ok, 200, `GET ${okPath}: the backend answered after ${slow} ms, a third of UPSTREAM_TIMEOUT_MS (${t} ms), so your proxy must wait for it and pass its 200 on (is your timer in the right unit?).`);
          other.backend.behave({ kind: 'hang' });
          other.backend.requests.length = 0;
          const path = `${other.prefix}hang/${ctx.random.string(6)}`;
          const budget = t + 2500;
          let a: Answer;
          try {
            a = await send(ctx, { path, timeoutMs: budget + 2500 });
          } catch (err) {
            if (err instanceof CheckFailure && err.details.transport === 'timeout') {
              fail(`GET ${path}: the backend never answers, and your proxy did not answer within ${budget + 2500} ms. After UPSTREAM_TIMEOUT_MS (${t} ms) without response headers it must give up and answer 504.`, { expected: `HTTP 504 within ${budget} ms`, received: err.message });
            }
            throw err;
          }
          const why = a.status === 502 ? ' 502 means the backend refused or broke the connection; a backend that is merely too slow is a 504 Gateway Timeout.' : '';
          check(a.status === 504, `GET ${path}: the backend received the request and never answered; after UPSTREAM_TIMEOUT_MS (${t} ms) your proxy must answer 504.${why}`, { expected: 'HTTP 504', received: `${describeAnswer(a)}\n(after ${a.ms} ms)`, answer: a });
          check(a.ms <= budget, `GET ${path}: your proxy answered 504 after ${a.ms} ms; UPSTREAM_TIMEOUT_MS is ${t} ms (the grader allows up to ${budget} ms).`, { expected: `HTTP 504 within ${budget} ms`, received: `after ${a.ms} ms`, answer: a });
          check(other.backend.requests.length === 1, `GET ${path} must reach the backend once (got ${other.backend.requests.length}).`, { answer: a });
          const dropped = await waitUntil(() => other.backend.inflight === 0, 2000, ctx.signal);
          check(dropped, `GET ${path}: after answering 504, your proxy must drop its connection to the hanging backend (destroy the upstream request / close the connection); 2 s after the 504 it was still open, waiting for an answer nobody will read.`, {
            expected: 'the backend connection closed after the 504',
            received: 'still open',
            answer: a,
          });
        },
      },
      {
        id: 'hanging-isolated',
        title: 'While one request hangs at a backend, other requests to it and to another backend are answered',
        hint: 'Handle each request independently (Node does; in Python use ThreadingHTTPServer) and do not limit the connections to a backend to one: a hanging request must hold only its own connection.',
        timeoutMs: 20_000,
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer, other } = routes;
          const held: ServerResponse[] = [];
          outer.backend.behave({
            kind: 'custom',
            handle: (req, res: ServerResponse) => {
              if (req.path.includes('/stuck-')) {
                // Headers at once, then the body hangs: the proxy's header timeout (UPSTREAM_TIMEOUT_MS) does not
                // end this request, so how long it hangs is the grader's choice, not a race with that timeout.
                res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Backend': outer.backend.name });
                res.write('the rest comes later\n');
                held.push(res);
                return;
              }
              res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': outer.backend.name });
              res.end(JSON.stringify({ backend: outer.backend.name, path: req.path }));
            },
          });
          const stuckPath = `${outer.prefix}stuck-${ctx.random.string(6)}`;
          let stuckDone = false;
          let release: NodeJS.Timeout | undefined;
          const HOLD_MS = 4000;
          const stuck = send(ctx, { path: stuckPath, timeoutMs: HOLD_MS + 10_000 }).finally(() => (stuckDone = true));
          stuck.catch(() => {});
          try {
            const arrived = await waitUntil(() => outer.backend.requests.length > 0, 5000, ctx.signal);
            check(arrived, `GET ${stuckPath} must reach the backend of ${outer.prefix}: nothing arrived within 5 s.`, { received: whoGot(routes) });
            const paths = [`${outer.prefix}fast-${ctx.random.string(6)}`, `${other.prefix}fast-${ctx.random.string(6)}`];
            // The hanging response ends after HOLD_MS: a proxy that queues the other requests behind it answers them after that.
            release = setTimeout(() => {
              for (const r of held) r.end('done\n');
            }, HOLD_MS);
            const answers = await Promise.all(paths.map((p) => send(ctx, { path: p, timeoutMs: timeoutOf(ctx) + 8000 }).then((a) => ({ a, whileStuck: !stuckDone }))));
            for (const [i, { a, whileStuck }] of answers.entries()) {
              expectStatus(a, 200, `GET ${paths[i]}: the backend answered 200 at once, so must your proxy.`);
              check(whileStuck, `GET ${paths[i]} was answered only after the hanging GET ${stuckPath} had ended (after ${a.ms} ms; it hung for ${HOLD_MS / 1000} s): your proxy handles one request at a time, or one connection per backend at a time. A hanging backend request must not hold up the others.`, {
                expected: `200 for GET ${paths[i]} while GET ${stuckPath} still hangs`,
                received: `200 only after GET ${stuckPath} ended`,
                answer: a,
              });
            }
          } finally {
            clearTimeout(release);
            for (const r of held) r.destroy();
            await stuck.catch(() => undefined);
          }
        },
      },
      {
        id: 'upstream-refused',
        title: 'A backend that refuses connections or resets them gives 502; the other backends still work',
        hint: "Handle the upstream request's `error` event (ECONNREFUSED, ECONNRESET, socket hang up) by answering 502 if no response has started; without a handler Node crashes the whole proxy.",
        timeoutMs: 20_000,
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer, other } = routes;
          await other.backend.stop();
          const refusedPath = `${other.prefix}down/${ctx.random.string(6)}`;
          const refused = await send(ctx, { path: refusedPath, timeoutMs: timeoutOf(ctx) + 5000 });
          const why = (a: Answer) => (a.status === 504 ? ' 504 is for a backend that takes too long; one that refuses or breaks the connection is a 502 Bad Gateway, at once.' : '');
          check(refused.status === 502, `GET ${refusedPath}: the backend of ${other.prefix} refuses connections (nothing listens at ${other.backend.url}); your proxy must answer 502.${why(refused)}`, {
            expected: 'HTTP 502',
            received: `${describeAnswer(refused)}\n(after ${refused.ms} ms)`,
            answer: refused,
          });
          await other.backend.start();
          outer.backend.behave({ kind: 'reset' });
          const resetPath = `${outer.prefix}reset/${ctx.random.string(6)}`;
          const reset = await send(ctx, { path: resetPath, timeoutMs: timeoutOf(ctx) + 5000 });
          check(reset.status === 502, `GET ${resetPath}: the backend of ${outer.prefix} reset the connection without answering; your proxy must answer 502.${why(reset)}`, {
            expected: 'HTTP 502',
            received: `${describeAnswer(reset)}\n(after ${reset.ms} ms)`,
            answer: reset,
          });
          const alivePath = `${other.prefix}alive/${ctx.random.string(6)}`;
          const alive = await send(ctx, { path: alivePath });
          expectStatus(alive, 200, `GET ${alivePath}: the backend of ${other.prefix} listens again and answers 200, so your proxy must answer 200 (it keeps working after upstream failures).`);
        },
      },
      {
        id: 'path-traversal',
        title: 'Dot-segments in the path, literal or percent-encoded, are refused with 400; other dots are forwarded',
        hint: 'Before routing, split the path (before ?) on `/`, replace %2e/%2E with `.` in each segment, and answer 400 if a segment is then `.` or `..`; only whole segments count.',
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer, other } = routes;
          const id = ctx.random.string(6);
          const target = `${outer.prefix.slice(1)}keys-${id}`;
          const bad = [
            `${other.prefix}../${target}`,
            `${other.prefix}%2e%2e/${target}`,
            `${other.prefix}%2E%2e/${target}`,
            `${other.prefix}.%2E/${target}`,
            `${other.prefix}%2e./${target}`,
            `${other.prefix}./${id}`,
            `${other.prefix}${id}/..`,
            `${other.prefix}${id}/%2E%2E?x=1`,
          ];
          for (const path of ctx.random.shuffle(bad)) {
            for (const b of routes.pool.backends) b.requests.length = 0;
            const a = await send(ctx, { path });
            check(a.status === 400 && routes.pool.requests().length === 0, `GET ${path} has a dot-segment in its path (a segment that is . or .. once %2e is read as a dot): your proxy must refuse it with 400 before routing, and no backend may receive it. A backend or file server that normalises the path would serve /${target} from behind ${other.prefix}.`, {
              expected: 'HTTP 400, no backend contacted',
              received: `HTTP ${a.status}; ${whoGot(routes)}`,
              answer: a,
            });
          }
          const good = [`${other.prefix}v1..2/${id}`, `${other.prefix}.well-known/${id}`, `${other.prefix}.../${id}`, `${other.prefix}${id}?file=../../etc/passwd`, `${other.prefix}%2e%2e${id}/x`];
          for (const path of ctx.random.shuffle(good)) {
            for (const b of routes.pool.backends) b.requests.length = 0;
            const a = await send(ctx, { path });
            check(a.status === 200 && other.backend.requests.length === 1 && other.backend.requests[0].path === path, `GET ${path} has no dot-segment (only whole segments . and .. count, and the query does not), so it must be forwarded as it is to the backend of ${other.prefix}.`, {
              expected: `HTTP 200, the backend of ${other.prefix} receives GET ${path}`,
              received: `HTTP ${a.status}; ${whoGot(routes)}`,
              answer: a,
            });
          }
        },
      },
      {
        id: 'websocket-upgrade',
        title: 'A WebSocket upgrade reaches its backend with Upgrade/Connection kept; messages flow both ways unchanged; closes propagate; a refusal reaches the client',
        hint: "Handle the upgrade apart from plain requests (Node: the server's 'upgrade' event; Python: a raw socket to the backend): forward the handshake with Connection: Upgrade and Upgrade: websocket added back, relay the backend's 101, then copy bytes both ways (client.pipe(upstream).pipe(client)) and destroy one side when the other closes or fails. A non-101 answer is a plain response: pass it on.",
        timeoutMs: 45_000,
        async run(ctx) {
          const routes = await setup(ctx);
          const { outer, inner, other } = routes;
          const nonce = ctx.random.string(8);
          const offered = [`chat.v1-${ctx.random.word(3, 5)}`, `chat.v2-${ctx.random.word(3, 5)}`];
          const chosen = offered[1];
          const closeCode = 4000 + ctx.random.int(1, 899);
          const closeReason = `bye ${ctx.random.word(4, 7)}`;
          const closeCommand = `close ${nonce}`;
          let closeSentAt = 0;
          // The backend of the longest prefix: says hello unprompted, echoes text with its tunnel's path, sends
          // binary back as it is, and closes with closeCode when asked.
          const tunnels: Tunnel[] = [];
          inner.backend.onUpgrade({
            kind: 'accept',
            protocol: chosen,
            onSocket: (ws, rec) => {
              const t: Tunnel = { path: rec.path, texts: [], binaries: [] };
              tunnels.push(t);
              ws.on('message', (data, isBinary) => {
                const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
                if (isBinary) {
                  t.binaries.push(createHash('sha256').update(buf).digest('hex'));
                  ws.send(buf, { binary: true });
                  return;
                }
                const text = buf.toString('utf8');
                t.texts.push(text);
                if (text === closeCommand) {
                  closeSentAt = performance.now();
                  ws.close(closeCode, closeReason);
                } else ws.send(`${rec.path} echo: ${text}`);
              });
              ws.send(`hello ${rec.path}`);
            },
          });

          // 1. The handshake, through the longest prefix, with a subprotocol and an X-Forwarded-For chain.
          const pathA = `${inner.prefix}live/${nonce}?room=a&t=%7E1`;
          const clientXff = `203.0.113.${ipSeg(ctx.random)}`;
          const requestId = ctx.random.string(12);
          const a: WsClient = await wsConnect(ctx, routes, pathA, { protocols: offered, headers: { 'X-Forwarded-For': clientXff, 'X-Request-Id': requestId }, name: 'client A' });
          const rec = inner.backend.requests.find((r) => r.upgrade);
          if (!rec || routes.pool.requests().length !== 1) {
            a.fail(`The WebSocket handshake on ${pathA} must reach exactly one backend, the one of the longest prefix ${inner.prefix}, as an upgrade request; ${whoGot(routes)}.`, { expected: `one upgrade request at ${inner.backend.url}`, received: whoGot(routes) });
          }
          const shown = showRequest(rec);
          const upgradeTokens = list(joined(rec.rawHeaders, 'upgrade')?.toLowerCase());
          const connectionTokens = list(joined(rec.rawHeaders, 'connection')?.toLowerCase());
          if (!upgradeTokens.includes('websocket') || !connectionTokens.includes('upgrade')) {
            a.fail(`The backend must receive the handshake with Upgrade: websocket and Connection: Upgrade: they are hop-by-hop, but an upgrade is the one exception (without them the backend sees a plain GET).`, { expected: 'Upgrade: websocket\nConnection: Upgrade', received: shown });
          }
          check(rec.path === pathA, `The handshake's request target must reach the backend byte-for-byte, like any request.`, { expected: `GET ${pathA}`, received: `${rec.method} ${rec.path}` });
          const key = joined(rec.rawHeaders, 'sec-websocket-key') ?? '';
          const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
          const clientAccept = String(a.upgradeHeaders['sec-websocket-accept'] ?? '');
          if (!key || clientAccept !== accept) {
            a.fail(`Sec-WebSocket-Key must reach the backend as the client sent it, and the backend's Sec-WebSocket-Accept must reach the client unchanged (the client checks one against the other).`, { expected: `Sec-WebSocket-Accept: ${accept} (from the key the backend received)`, received: `the backend received Sec-WebSocket-Key: ${key || '(absent)'}; the client received Sec-WebSocket-Accept: ${clientAccept || '(absent)'}` });
          }
          const gotProtocols = list(joined(rec.rawHeaders, 'sec-websocket-protocol'));
          if (gotProtocols.join(',') !== offered.join(',') || joined(rec.rawHeaders, 'sec-websocket-version') !== '13' || joined(rec.rawHeaders, 'x-request-id') !== requestId) {
            a.fail(`The handshake's end-to-end headers (Sec-WebSocket-Protocol, Sec-WebSocket-Version, X-Request-Id...) must reach the backend unchanged.`, { expected: `Sec-WebSocket-Protocol: ${offered.join(',')}\nSec-WebSocket-Version: 13\nX-Request-Id: ${requestId}`, received: shown });
          }
          if (a.protocol !== chosen) {
            a.fail(`The client offered the subprotocols ${offered.join(', ')} and the backend chose ${chosen}: its 101 answer, Sec-WebSocket-Protocol included, must reach the client.`, { expected: `Sec-WebSocket-Protocol: ${chosen} in the 101`, received: `Sec-WebSocket-Protocol: ${a.protocol || '(absent)'}` });
          }
          const xff = list(joined(rec.rawHeaders, 'x-forwarded-for'));
          if (xff.length !== 2 || xff[0] !== clientXff || isIP(xff[1]) === 0) {
            a.fail(`An upgrade request gets the same forwarded headers as any request: the client sent X-Forwarded-For: ${clientXff}, so the backend must receive ${clientXff}, followed by the peer's address.`, { expected: `X-Forwarded-For: ${clientXff}, 127.0.0.1`, received: `X-Forwarded-For: ${joined(rec.rawHeaders, 'x-forwarded-for') ?? '(absent)'}` });
          }

          // 2. A message the backend sends unprompted: a proxy that only relays request and answer misses it.
          const hello = await a.nextMatching((m) => m.text === `hello ${pathA}`, 3000);
          if (!hello) {
            const probe = `probe ${nonce}`;
            a.send(probe);
            const arrived = await waitUntil(() => tunnels.some((t) => t.texts.includes(probe)), 1500, ctx.signal);
            a.fail(
              arrived
                ? `Right after the handshake the backend sent "hello ${pathA}" without being asked, and it never reached the client, while the client's own message did reach the backend: your proxy copies bytes from the client to the backend only. Copy the backend's bytes to the client too (upstream.pipe(client)).`
                : `Right after the handshake the backend sent "hello ${pathA}" without being asked; it never reached the client, and a message the client sent never reached the backend: after the 101, your proxy copies no bytes at all. Copy both ways, for as long as the connection lasts (client.pipe(upstream).pipe(client)).`,
              { expected: `the message "hello ${pathA}" within 3 s`, received: arrived ? 'only the client -> backend direction works' : 'nothing either way' },
            );
          }

          // 3. Text and a binary message bigger than any socket buffer, both ways, unchanged.
          const text = `text ${nonce} café ✓ "quoted" \u{1F600}`;
          a.send(text);
          const echo = await a.nextMatching((m) => m.text === `${pathA} echo: ${text}`, 4000);
          if (!echo) a.fail(`The client sent a text message; the backend echoes it back, and the echo must reach the client unchanged.`, { expected: `"${pathA} echo: ${text}"`, received: tunnels[0]?.texts.includes(text) ? 'the backend received the message and echoed it; nothing came back' : 'the backend never received the message' });
          const bin = seededBytes(ctx.random, ctx.random.int(190_000, 230_000));
          const binSha = createHash('sha256').update(bin).digest('hex');
          a.sendBinary(bin);
          const binBack = await a.nextMatching((m) => m.binary, 8000);
          const backendSha = tunnels[0]?.binaries[0];
          const backSha = binBack?.bytes ? createHash('sha256').update(binBack.bytes).digest('hex') : undefined;
          if (backendSha !== binSha || backSha !== binSha) {
            a.fail(`A ${bin.length}-byte binary message (bigger than a socket buffer: it crosses in many pieces) must reach the backend and come back byte-for-byte.`, {
              expected: `${bin.length} bytes, sha256 ${binSha}, both ways`,
              received: `the backend received ${backendSha ? `sha256 ${backendSha}` : 'nothing'}; the client got back ${binBack?.bytes ? `${binBack.bytes.length} bytes, sha256 ${backSha}` : 'nothing'}`,
            });
          }

          // 4. A second tunnel at the same time: each client gets its own messages only.
          const pathB = `${inner.prefix}live/${nonce}-b`;
          const b: WsClient = await wsConnect(ctx, routes, pathB, { name: 'client B' });
          const helloB = await b.nextMatching((m) => m.text === `hello ${pathB}`, 4000);
          if (!helloB) b.fail(`The second connection's backend said "hello ${pathB}" unprompted, and it did not reach client B.`, { expected: `"hello ${pathB}"` });
          const tagA = `which A ${ctx.random.string(6)}`;
          const tagB = `which B ${ctx.random.string(6)}`;
          a.send(tagA);
          b.send(tagB);
          for (const [c, path, tag] of [[a, pathA, tagA], [b, pathB, tagB]] as const) {
            const own = await c.nextMatching((m) => m.text === `${path} echo: ${tag}`, 4000);
            if (!own) c.fail(`With two WebSocket connections open through your proxy, ${c.name} sent "${tag}" and must get its own echo back.`, { expected: `"${path} echo: ${tag}"` });
          }
          for (const [c, otherPath] of [[a, pathB], [b, pathA]] as const) {
            const stray = c.take().filter((m) => String(m).includes(otherPath));
            if (stray.length) c.fail(`${c.name} received a message of the other connection's tunnel: each upgraded connection must be copied to its own backend connection only.`, { expected: 'only its own messages', received: String(stray[0]) });
          }

          // 5. Plain HTTP keeps being served while the tunnels are open.
          const plainPath = `${other.prefix}during-ws/${nonce}`;
          const plain = await send(ctx, { path: plainPath, timeoutMs: 8000 });
          check(plain.status === 200 && other.backend.requests.length === 1, `GET ${plainPath} must be answered while two WebSocket connections are open through your proxy (a tunnel holds its own connection, not the whole proxy).`, { expected: 'HTTP 200 from the backend', received: `HTTP ${plain.status}; ${whoGot(routes)}`, answer: plain });

          // 6. The backend closes: the client gets the close code and its connection ends soon after.
          a.send(closeCommand);
          const closed = await a.waitClosed(CLOSE_BOUND + CLOSE_SLACK);
          const closeMs = closeSentAt ? Math.round(performance.now() - closeSentAt) : undefined;
          if (!closed) {
            const gotFrame = !a.open;
            a.fail(
              gotFrame
                ? `The backend closed its WebSocket (close ${closeCode}) and then its TCP connection; the close frame reached the client, but your proxy never closed the client's connection, so the client waits for it forever. When the backend's connection ends, end the client's (pipe does it; with { end: false } or a bare 'data' handler you must do it yourself).`
                : `The backend closed its WebSocket with code ${closeCode}; the close frame never reached the client.`,
              { expected: `close ${closeCode} "${closeReason}", then the connection ends within ${CLOSE_BOUND / 1000} s`, received: `still ${gotFrame ? 'connected (close frame received)' : 'open'} after ${CLOSE_BOUND + CLOSE_SLACK} ms` },
            );
          }
          if (closed.abrupt || closed.code !== closeCode || closed.reason !== closeReason) {
            a.fail(`The backend closed its WebSocket with code ${closeCode} and reason "${closeReason}": the client must receive that close frame unchanged.`, { expected: `close ${closeCode} "${closeReason}"`, received: closed.abrupt ? 'the connection ended without a close frame' : `close ${closed.code} "${closed.reason}"` });
          }
          if (closeMs !== undefined && closeMs > CLOSE_BOUND + CLOSE_SLACK) {
            a.fail(`The client's connection ended ${closeMs} ms after the backend closed: it must end within ${CLOSE_BOUND / 1000} s.`, { expected: `within ${CLOSE_BOUND} ms`, received: `${closeMs} ms` });
          }

          // 7. The client vanishes (a TCP reset, no close frame): the proxy closes its backend connection.
          const upstreamB = inner.backend.webSockets.find((w) => w.request.path === pathB);
          check(upstreamB && upstreamB.closedAt === undefined, `The backend's connection for ${pathB} must still be open before the client leaves.`, { received: upstreamB ? `closed at ${upstreamB.closedAt} ms` : 'no such connection' });
          b.reset();
          const released = await waitUntil(() => upstreamB.closedAt !== undefined, CLOSE_BOUND + CLOSE_SLACK, ctx.signal);
          if (!released) {
            b.fail(`Client B reset its connection (no close frame, the TCP connection just ended); ${(CLOSE_BOUND + CLOSE_SLACK) / 1000} s later your proxy's connection to the backend is still open: a leak per vanished client. When the client's socket closes or errors (ECONNRESET), destroy the backend's, and the other way round.`, {
              expected: `the backend's connection closed within ${CLOSE_BOUND / 1000} s`,
              received: 'still open',
            });
          }

          // 8. A backend that refuses the upgrade: its answer reaches the client like any response.
          const refusalBody = `no websocket for you ${ctx.random.string(8)}\n`;
          inner.backend.onUpgrade({ kind: 'refuse', status: 403, body: refusalBody });
          const pathC = `${inner.prefix}live/${nonce}-refused`;
          const refusal = await explained(
            ctx.ws.expectRefused(pathC, { status: 403, why: `The backend answers this upgrade with 403 and a body instead of 101`, timeoutMs: 8000 }),
            `A backend's non-101 answer to an upgrade is a plain HTTP response: pass it on (status, headers, body) like any other, not a 502 and not a dropped connection.`,
          );
          check(refusal.body === refusalBody, `The backend refused the upgrade on ${pathC} with 403 and a body: the client must receive that body.`, { expected: refusalBody, received: refusal.body });

          // 9. Routing, dot-segments and refused backends apply to upgrades as to other requests.
          // A first segment no prefix shares even without its slash (so only the routing of upgrades is at stake).
          let unknown = ctx.random.word(5, 8);
          while ([outer, inner, other].some((r) => `/${unknown}`.startsWith(r.prefix.slice(0, -1)) || r.prefix.startsWith(`/${unknown}`))) unknown = ctx.random.word(5, 8);
          for (const bk of routes.pool.backends) bk.requests.length = 0;
          await explained(ctx.ws.expectRefused(`/${unknown}/ws`, { status: 404, why: `/${unknown}/ws matches no route`, timeoutMs: 8000 }), 'Routing applies to upgrades as to other requests.');
          const dotPath = `${other.prefix}..${outer.prefix}ws`;
          const dot = await ctx.ws.rawHandshake(
            `GET ${dotPath} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomKey(ctx.random)}\r\n\r\n`,
            8000,
          );
          if (dot.kind !== 'answer' || dot.status !== 400 || routes.pool.requests().length !== 0) {
            throw new CheckFailure({
              message: `An upgrade request to ${dotPath} has a dot-segment: refuse it with 400, like any request, before any backend sees it.`,
              expected: 'HTTP 400, no backend contacted',
              received: `${dot.kind === 'answer' ? dot.statusLine : `no answer (${dot.kind})`}; ${whoGot(routes)}`,
              reproduce: dot.reproduce,
            });
          }
          await other.backend.stop();
          try {
            await explained(ctx.ws.expectRefused(`${other.prefix}ws/${nonce}`, { status: 502, why: `The backend of ${other.prefix} refuses connections`, timeoutMs: 8000 }), 'A refused backend is a 502 for an upgrade too.');
          } finally {
            await other.backend.start();
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
