import type { ServerResponse } from 'node:http';
import { defineLab, describeTiming, expectJson, expectThat, show, type CheckContext, type EnvContext, HostedByEnv, type HostedRequest, type HttpResponse, type Random } from '../../grader/index.ts';

// --- the upstream the grader hosts -------------------------------------------------------------------

interface Product {
  id: string;
  name: string;
  price: number;
  version: number;
}

/** How long the upstream takes to answer a GET: it is the slow service the cache is for. */
const UPSTREAM_DELAY_MS = 120;

/**
 * The slow product service behind UPSTREAM_URL: one per run, hosted before the learner's server starts.
 * It counts every request per product, lets a check change a product behind the server's back, and can
 * hold GETs or PUTs of a product until the check lets them go.
 */
class Upstream {
  readonly products = new Map<string, Product>();
  readonly gets = new Map<string, number>();
  readonly puts = new Map<string, HostedRequest[]>();
  private readonly holds = new Map<string, Promise<void>>();
  private readonly listeners = new Set<() => void>();

  async handle(req: HostedRequest, res: ServerResponse): Promise<void> {
    const match = /^\/products\/([^/?]+)(\?.*)?$/.exec(req.path);
    const id = match ? decodeURIComponent(match[1]) : undefined;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (id === undefined) return json(404, { error: `no route for ${req.path}` });
    if (req.method === 'GET') {
      this.gets.set(id, (this.gets.get(id) ?? 0) + 1);
      this.notify();
      await this.holds.get(`GET ${id}`);
      await new Promise((r) => setTimeout(r, UPSTREAM_DELAY_MS));
      const product = this.products.get(id);
      return product ? json(200, product) : json(404, { error: `no product ${id}` });
    }
    if (req.method === 'PUT') {
      this.puts.set(id, [...(this.puts.get(id) ?? []), req]);
      this.notify();
      await this.holds.get(`PUT ${id}`);
      const product = this.products.get(id);
      if (!product) return json(404, { error: `no product ${id}` });
      let body: { name?: unknown; price?: unknown };
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return json(400, { error: 'the body is not valid JSON' });
      }
      if (typeof body?.name !== 'string' || body.name === '' || !Number.isSafeInteger(body.price) || (body.price as number) < 0) {
        return json(400, { error: 'a product needs a non-empty `name` and an integer `price` >= 0' });
      }
      const updated = { ...product, name: body.name, price: body.price as number, version: product.version + 1 };
      this.products.set(id, updated);
      return json(200, updated);
    }
    res.setHeader('Allow', 'GET, PUT');
    return json(405, { error: `${req.method} is not allowed` });
  }

  create(random: Random): Product {
    const id = `p-${random.string(10)}`;
    const product = { id, name: productName(random), price: random.int(100, 99_999), version: 1 };
    this.products.set(id, product);
    return { ...product };
  }

  /** Changes a product behind the server's back (as another writer of the upstream would). */
  change(random: Random, id: string): Product {
    const before = this.products.get(id)!;
    const after = { ...before, name: productName(random), price: random.int(100, 99_999), version: before.version + 1 };
    this.products.set(id, after);
    return { ...after };
  }

  hits(id: string): number {
    return this.gets.get(id) ?? 0;
  }

  /** Holds every GET (or PUT) of `id` that arrives from now on, until the returned function is called. */
  hold(method: 'GET' | 'PUT', id: string): () => void {
    let release!: () => void;
    this.holds.set(`${method} ${id}`, new Promise<void>((r) => (release = r)));
    return () => {
      this.holds.delete(`${method} ${id}`);
      release();
    };
  }

  /** Resolves true once `condition` holds (checked on every upstream request), false after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        signal.removeEventListener('abort', abort);
        resolve(ok);
      };
      const check = () => {
        if (condition()) done(true);
      };
      const abort = () => done(false);
      const timer = setTimeout(() => done(condition()), timeoutMs);
      signal.addEventListener('abort', abort, { once: true });
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

function productName(random: Random): string {
  const w = random.word();
  return `${w[0].toUpperCase()}${w.slice(1)} ${random.word(3, 6)} ${random.string(6)}`;
}

/** The upstream hosted for UPSTREAM_URL (one per run: the knob hosts it before the server starts). */
const upstreams = new HostedByEnv<Upstream>('UPSTREAM_URL');

function hostUpstream(run: EnvContext): Promise<string> {
  const upstream = new Upstream();
  return upstreams.host(run, upstream, (req, res) => upstream.handle(req, res));
}

const upstreamOf = (ctx: CheckContext): Upstream => upstreams.of(ctx);

// --- helpers -----------------------------------------------------------------------------------------

const ttlMs = (ctx: CheckContext) => Number(ctx.env.CACHE_TTL_SECONDS) * 1000;

function sameProduct(body: unknown, p: Product): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return b.id === p.id && b.name === p.name && b.price === p.price && b.version === p.version;
}

/** GET /products/<id>, expected to be 200 with exactly the product `p`. */
async function expectProduct(ctx: CheckContext, p: Product, why: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  const res = await ctx.http.get(`/products/${p.id}`, { headers });
  const body = expectJson(res, 200, `GET /products/${p.id} must answer 200 with the product as JSON.`);
  expectThat(sameProduct(body, p), why, { expected: show(p), received: show(body), res });
  return res;
}

/** Finds the Redis key whose value (a string, or the fields of a hash) contains `needle`. */
async function findKey(redis: CheckContext['redis'], needle: string): Promise<string | undefined> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 200);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value = type === 'string' ? await redis.get(key) : type === 'hash' ? (await redis.hvals(key)).join('\n') : null;
      if (value?.includes(needle)) return key;
    }
  } while (cursor !== '0');
  return undefined;
}

/** The quoted part of an entity-tag: `W/"x"` and `"x"` both give `"x"`. */
function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, '');
}

const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/** Cache-Control directives as a map (lowercase names). */
function directives(value: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (const part of (value ?? '').split(',')) {
    const [name, ...rest] = part.trim().split('=');
    if (!name) continue;
    out.set(name.toLowerCase(), rest.length ? rest.join('=').replace(/^"|"$/g, '') : true);
  }
  return out;
}

/**
 * Runs `attempt` (with a fresh product each time) until its verdict cannot be explained by the entry
 * expiring on its own: the TTL is short, and on a very slow machine a few requests can outlast it.
 */
async function withinTtl(ctx: CheckContext, attempt: (cachedAt: number) => Promise<'ok' | 'expired'>): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const outcome = await attempt(performance.now());
    if (outcome === 'ok') return;
    ctx.note('the cache entry may have expired on its own before the check finished (slow machine): trying again with a new product');
  }
  ctx.fail(`Three times in a row, more than CACHE_TTL_SECONDS (${ctx.env.CACHE_TTL_SECONDS} s) passed between caching a product and the end of this check, so it could not decide. The machine is very busy, or the server is very slow.`);
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'caching',
    title: 'Caching: cache-aside in Redis in front of a slow service',
    track: 'data',
    summary: 'A Redis cache in front of a slow upstream the grader hosts: hits without upstream requests, TTL, invalidation after writes, one upstream request for a stampede of misses, ETag/304 and Cache-Control.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [8],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check.
    malformedRequests: { paths: ['/products/'] },
    services: ['redis'],
    env: {
      UPSTREAM_URL: {
        description: 'Base URL of the slow product service the grader hosts (GET and PUT /products/{id}).',
        value: (_random, run) => hostUpstream(run),
      },
      CACHE_TTL_SECONDS: {
        description: 'How long a cached product lives, in seconds (a Redis TTL), and the max-age of Cache-Control.',
        value: (r) => String(r.int(4, 5)),
      },
    },
    checks: [
      {
        id: 'pass-through',
        title: "GET /products/{id} answers the upstream's product; an unknown id is 404",
        hint: 'Fetch `${UPSTREAM_URL}/products/${id}` and answer its JSON unchanged (200, application/json); when the upstream says 404, answer 404.',
        async run(ctx) {
          const up = upstreamOf(ctx);
          const p = up.create(ctx.random);
          await expectProduct(ctx, p, `GET /products/${p.id} must answer the product exactly as the upstream has it (GET ${ctx.env.UPSTREAM_URL}/products/${p.id}).`);
          expectThat(up.hits(p.id) >= 1, `GET /products/${p.id} must come from the upstream service in UPSTREAM_URL: it received no request for this product.`, { expected: `GET ${ctx.env.UPSTREAM_URL}/products/${p.id}`, received: 'no request' });
          const ghost = `p-${ctx.random.string(10)}`;
          const res = await ctx.http.get(`/products/${ghost}`);
          expectJson(res, 404, `GET /products/${ghost}: the upstream has no such product (it answers 404), so the answer is 404 with a JSON error.`);
        },
      },
      {
        id: 'cache-hit',
        title: 'A second read is served from the cache, without an upstream request',
        hint: 'Cache-aside: look in Redis first; on a miss fetch from the upstream and SET the entry with a TTL; on a hit answer from Redis without calling the upstream.',
        async run(ctx) {
          const up = upstreamOf(ctx);
          await withinTtl(ctx, async (cachedAt) => {
            const p = up.create(ctx.random);
            await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
            const first = up.hits(p.id);
            let last: HttpResponse | undefined;
            for (let i = 0; i < 3; i++) last = await expectProduct(ctx, p, `A repeated GET /products/${p.id} must answer the same product.`);
            const extra = up.hits(p.id) - first;
            if (extra > 0 && performance.now() - cachedAt >= ttlMs(ctx) - 250) return 'expired';
            expectThat(extra === 0, `The first GET /products/${p.id} cost ${first} upstream request(s); the three after it must be served from the cache, but the upstream received ${extra} more.`, {
              expected: 'no upstream request for a cached product',
              received: `${extra} more GET ${ctx.env.UPSTREAM_URL}/products/${p.id}`,
              res: last,
            });
            return 'ok';
          });
        },
      },
      {
        id: 'cached-in-redis',
        title: 'The cache lives in Redis: the entry is there, and it survives a restart of the server',
        hint: 'Keep entries in the Redis database of REDIS_URL (e.g. SET product:<id> <json> EX <ttl>), not in a Map in the process: a restarted or second instance of the server must find them.',
        timeoutMs: 60_000,
        async run(ctx) {
          const up = upstreamOf(ctx);
          const p = up.create(ctx.random);
          // A long TTL for this check alone, so the entry cannot expire while the server restarts.
          const long = { CACHE_TTL_SECONDS: '300' };
          try {
            ctx.note('restarting your server with CACHE_TTL_SECONDS=300 for this check');
            await ctx.server.restart({ env: long });
            await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
            const key = await findKey(ctx.redis, p.name);
            expectThat(key !== undefined, `After GET /products/${p.id}, the product must be cached in the Redis database of REDIS_URL: no key there holds it (the grader looked for its name ${JSON.stringify(p.name)} in every string and hash).`, {
              expected: `a key such as product:${p.id} holding the product's JSON`,
              received: `${await ctx.redis.dbsize()} keys, none holding this product`,
            });
            const before = up.hits(p.id);
            ctx.note('restarting your server: the cache must still be there');
            await ctx.server.restart({ env: long });
            await expectProduct(ctx, p, `After a restart, GET /products/${p.id} must still answer the product.`);
            const extra = up.hits(p.id) - before;
            expectThat(extra === 0, `After a restart of the server, GET /products/${p.id} went to the upstream again (${extra} request(s)): the entry is in Redis (key ${key}), so it must be served from there.`, {
              expected: 'no upstream request: the entry is still in Redis',
              received: `${extra} upstream request(s)`,
            });
          } finally {
            ctx.note('restarting your server with its normal environment');
            await ctx.server.restart();
          }
        },
      },
      {
        id: 'ttl',
        title: 'Entries expire after CACHE_TTL_SECONDS: then the next read fetches fresh data',
        hint: 'Give every entry a TTL when you store it: SET key value EX <CACHE_TTL_SECONDS> (seconds; PX takes milliseconds). Do not extend it on reads.',
        timeoutMs: 30_000,
        async run(ctx) {
          const up = upstreamOf(ctx);
          const ttl = ttlMs(ctx);
          const p = up.create(ctx.random);
          await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
          // The entry was stored before this answer arrived, so it is gone TTL after now at the latest.
          const cachedBy = performance.now();
          const key = await findKey(ctx.redis, p.name);
          // Without a key the check `cached-in-redis` says why; the expiry is still checked from outside below.
          if (key !== undefined) {
            const pttl = await ctx.redis.pttl(key);
            expectThat(pttl > 0 && pttl <= ttl, `The cache entry ${key} must expire after CACHE_TTL_SECONDS (${ctx.env.CACHE_TTL_SECONDS} s): Redis says its time to live is ${pttl === -1 ? 'unlimited (no TTL)' : `${pttl} ms`}.`, {
              expected: `PTTL ${key} between 1 and ${ttl}`,
              received: `PTTL ${key} = ${pttl}${pttl === -1 ? ' (no expiry)' : ''}`,
            });
          }
          const changed = up.change(ctx.random, p.id);
          const before = up.hits(p.id);
          ctx.note(`the grader changed the product upstream; waiting ${ctx.env.CACHE_TTL_SECONDS} s for the entry to expire`);
          await ctx.sleep(Math.max(0, cachedBy + ttl + 1000 - performance.now()));
          const res = await ctx.http.get(`/products/${p.id}`);
          const body = expectJson(res, 200, `GET /products/${p.id} must answer 200 with the product.`);
          expectThat(sameProduct(body, changed), `The product changed upstream and more than CACHE_TTL_SECONDS (${ctx.env.CACHE_TTL_SECONDS} s) have passed since it was cached: GET /products/${p.id} must fetch it again and answer the new version.`, {
            expected: show(changed),
            received: `${show(body)}${up.hits(p.id) === before ? '\n(no upstream request: the old entry is still being served)' : ''}`,
            res,
          });
        },
      },
      {
        id: 'invalidate-on-write',
        title: 'PUT /products/{id} writes to the upstream and invalidates the entry: the next read shows the change',
        hint: 'Forward the PUT to `${UPSTREAM_URL}/products/${id}` and answer its response; when it succeeds, DEL the cached entry (or overwrite it with the new product), so the next GET cannot serve the old one.',
        async run(ctx) {
          const up = upstreamOf(ctx);
          await withinTtl(ctx, async (cachedAt) => {
            const p = up.create(ctx.random);
            const first = await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
            const oldTag = first.header('etag');
            const update = { name: productName(ctx.random), price: ctx.random.int(100, 99_999) };
            const put = await ctx.http.put(`/products/${p.id}`, update);
            const written = expectJson(put, 200, `PUT /products/${p.id} with ${JSON.stringify(update)} must be forwarded to the upstream, and its answer (200 with the updated product) returned.`);
            const received = up.puts.get(p.id) ?? [];
            let sent: unknown;
            try {
              sent = JSON.parse(received[0]?.body.toString('utf8') ?? '');
            } catch {
              sent = received[0]?.body.toString('utf8');
            }
            expectThat(received.length === 1 && (sent as Record<string, unknown>)?.name === update.name && (sent as Record<string, unknown>)?.price === update.price, `PUT /products/${p.id} must be forwarded to the upstream once, with the body it came with.`, {
              expected: `PUT ${ctx.env.UPSTREAM_URL}/products/${p.id} ${JSON.stringify(update)}`,
              received: received.length ? `${received.length} PUT(s), the first with ${received[0].body.toString('utf8')}` : 'no PUT',
              res: put,
            });
            const now = up.products.get(p.id)!;
            expectThat(sameProduct(written, now), `PUT /products/${p.id} must answer the updated product the upstream returned.`, { expected: show(now), received: show(written), res: put });
            const res = await ctx.http.get(`/products/${p.id}`);
            const body = expectJson(res, 200, `GET /products/${p.id} after the PUT must answer 200 with the product.`);
            if (!sameProduct(body, now) && performance.now() - cachedAt >= ttlMs(ctx) - 250) return 'expired';
            expectThat(sameProduct(body, now), `After PUT /products/${p.id} succeeded, GET /products/${p.id} must answer the updated product, not the cached old one: invalidate the entry when a write succeeds.`, {
              expected: show(now),
              received: show(body),
              res,
            });
            const tag = res.header('etag');
            expectThat(oldTag === undefined || tag === undefined || opaque(tag) !== opaque(oldTag), 'The product changed, so its ETag must change too.', {
              expected: `an ETag other than ${oldTag}`,
              received: `ETag: ${tag}`,
              res,
            });
            const missing = `p-${ctx.random.string(10)}`;
            const none = await ctx.http.put(`/products/${missing}`, update);
            expectJson(none, 404, `PUT /products/${missing}: the upstream has no such product (404), so the answer is 404.`);
            return 'ok';
          });
        },
      },
      {
        id: 'invalidate-after-write',
        title: 'The entry is invalidated after the upstream write, not before: a read during the write cannot bring the old value back',
        hint: 'Order matters: first write to the upstream and wait for its answer, then DEL the entry. Deleting first lets a read that arrives during the write cache the old product again, and nothing removes it until the TTL.',
        timeoutMs: 30_000,
        async run(ctx) {
          const up = upstreamOf(ctx);
          await withinTtl(ctx, async (cachedAt) => {
            const p = up.create(ctx.random);
            await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
            const update = { name: productName(ctx.random), price: ctx.random.int(100, 99_999) };
            // The upstream holds the write: while it is in progress, a read arrives.
            const release = up.hold('PUT', p.id);
            let put: Promise<HttpResponse>;
            try {
              put = ctx.http.put(`/products/${p.id}`, update, { timeoutMs: 20_000 });
              put.catch(() => {});
              const arrived = await up.waitFor(() => (up.puts.get(p.id)?.length ?? 0) > 0, 10_000, ctx.signal);
              expectThat(arrived, `PUT /products/${p.id} must be forwarded to the upstream: it received no PUT within 10 s.`, { expected: `PUT ${ctx.env.UPSTREAM_URL}/products/${p.id}`, received: 'nothing' });
              ctx.note('the upstream holds the write; a read arrives meanwhile');
              await expectProduct(ctx, p, `GET /products/${p.id} while the write is still in progress upstream must answer the product as it is (the old version).`);
            } finally {
              release();
            }
            const done = await put;
            expectJson(done, 200, `PUT /products/${p.id} must answer 200 with the updated product once the upstream has answered.`);
            const now = up.products.get(p.id)!;
            const res = await ctx.http.get(`/products/${p.id}`);
            const body = expectJson(res, 200, `GET /products/${p.id} after the PUT must answer 200 with the product.`);
            if (!sameProduct(body, now) && performance.now() - cachedAt >= ttlMs(ctx) - 250) return 'expired';
            expectThat(sameProduct(body, now), `After PUT /products/${p.id} succeeded, GET /products/${p.id} still answers the old product. A read arrived while the upstream was still writing; if the entry is deleted before the write (not after), that read caches the old product again and nothing removes it until the TTL.`, {
              expected: show(now),
              received: show(body),
              res,
            });
            return 'ok';
          });
        },
      },
      {
        id: 'stampede',
        title: '50 concurrent reads of an uncached product make at most one upstream request',
        hint: 'Coalesce concurrent misses (single flight): keep a map id -> pending promise of the upstream fetch; a miss that finds one awaits it instead of fetching again (or take a short Redis lock with SET NX PX and let the others wait for the entry).',
        timeoutMs: 60_000,
        async run(ctx) {
          const up = upstreamOf(ctx);
          const p = up.create(ctx.random);
          // The upstream holds the first fetch, so every one of the 50 requests arrives while it is a miss.
          const release = up.hold('GET', p.id);
          let results: PromiseSettledResult<HttpResponse>[] = [];
          try {
            ctx.note('50 GETs of one uncached product at once; the upstream holds its answer meanwhile');
            // Connections opened first, then the 50 GETs released together (a small listen backlog cannot
            // spread them over the kernel's SYN retries).
            const burst = ctx.http.simultaneous(50, () => ({ path: `/products/${p.id}`, timeoutMs: 30_000 })).then(({ responses, timing }) => {
              ctx.note(describeTiming(timing));
              return responses;
            });
            burst.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
            const first = await up.waitFor(() => up.hits(p.id) > 0, 15_000, ctx.signal);
            expectThat(first, `50 GET /products/${p.id} must fetch the product from the upstream: it received no request within 15 s.`, { expected: `GET ${ctx.env.UPSTREAM_URL}/products/${p.id}`, received: 'nothing' });
            // Until a second upstream request comes (a stampede), or none has come for 3 s: the other 49
            // requests were sent together with the first, so by then they are all waiting at the server.
            await up.waitFor(() => up.hits(p.id) >= 2, 3000, ctx.signal);
            release();
            results = await burst;
          } finally {
            release();
          }
          const hits = up.hits(p.id);
          expectThat(hits <= 1, `50 concurrent GET /products/${p.id} of an uncached product caused ${hits} upstream requests: every miss fetched on its own (a cache stampede). Concurrent misses must share one fetch.`, {
            expected: `1 GET ${ctx.env.UPSTREAM_URL}/products/${p.id}`,
            received: `${hits} requests`,
          });
          const bad = results.find((r) => r.status === 'rejected' || r.value.status !== 200 || !sameProduct(parseBody(r.value), p));
          expectThat(bad === undefined, `All 50 concurrent GET /products/${p.id} must answer 200 with the product.`, {
            expected: `50 x 200 ${show(p)}`,
            received: bad?.status === 'rejected' ? String((bad.reason as Error)?.message) : undefined,
            res: bad?.status === 'fulfilled' ? bad.value : undefined,
          });
        },
      },
      {
        id: 'etag',
        title: 'ETag and If-None-Match: 304 Not Modified with the weak comparison, lists and *',
        hint: 'Send an ETag derived from the content (e.g. a hash of the JSON). Parse If-None-Match as `*` or a comma-separated list of entity-tags, and compare each ignoring a `W/` prefix (the weak comparison): on a match answer 304 with no body, the ETag and Cache-Control.',
        async run(ctx) {
          const up = upstreamOf(ctx);
          const p = up.create(ctx.random);
          const res = await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
          const etag = res.expectHeader('etag', (v) => ENTITY_TAG.test(v.trim()), 'GET /products/{id} must send an `ETag` header: an entity-tag in double quotes, e.g. `"3a7bd3e2"` or `W/"3a7bd3e2"`.', 'an entity-tag in double quotes, e.g. "3a7bd3e2" or W/"3a7bd3e2"');
          const tag = etag.trim();
          const weak = tag.startsWith('W/');
          const junk = () => `"${ctx.random.string(12)}"`;
          const cases: { header: string; why: string }[] = [
            { header: tag, why: 'the ETag it was just sent' },
            { header: weak ? tag.slice(2) : `W/${tag}`, why: `the same tag ${weak ? 'without' : 'with'} the W/ prefix (If-None-Match uses the weak comparison, which ignores W/)` },
            { header: `${junk()}, ${tag}, W/${junk()}`, why: 'a list of entity-tags that contains it' },
            { header: '*', why: '`*` (matches any current representation)' },
          ];
          for (const c of cases) {
            const r = await ctx.http.get(`/products/${p.id}`, { headers: { 'If-None-Match': c.header } });
            expectThat(r.status === 304, `GET /products/${p.id} with If-None-Match: ${c.header}, ${c.why}, must answer 304 Not Modified.`, { expected: 'HTTP 304 (no body)', res: r });
            expectThat(r.bytes.length === 0, 'A 304 has no body.', { expected: 'an empty body', received: `${r.bytes.length} bytes: ${r.text.slice(0, 200)}`, res: r });
            const again = r.header('etag');
            expectThat(again !== undefined && opaque(again) === opaque(tag), 'A 304 must carry the ETag of the representation it stands for.', { expected: `ETag: ${tag}`, received: `ETag: ${again ?? '(none)'}`, res: r });
          }
          const other = `${junk()}, W/${junk()}`;
          const miss = await expectProduct(ctx, p, `GET /products/${p.id} with If-None-Match: ${other} (tags that do not match) must answer 200 with the product.`, { 'If-None-Match': other });
          expectThat(miss.header('etag') !== undefined && opaque(miss.header('etag')!) === opaque(tag), 'The ETag must stay the same while the product does not change.', { expected: `ETag: ${tag}`, res: miss });
          const q = up.create(ctx.random);
          const otherProduct = await expectProduct(ctx, q, `GET /products/${q.id} with the ETag of another product (${tag}) must answer 200 with its own product.`, { 'If-None-Match': tag });
          const qTag = otherProduct.header('etag');
          expectThat(qTag !== undefined && opaque(qTag) !== opaque(tag), 'Two different products must have different ETags (derive it from the content).', { expected: `an ETag other than ${tag}`, received: `ETag: ${qTag}`, res: otherProduct });
        },
      },
      {
        id: 'cache-control',
        title: 'Cache-Control: max-age up to the TTL on reads (and their 304s), no-store on writes',
        hint: 'Send `Cache-Control: max-age=<CACHE_TTL_SECONDS>` (public is fine) on 200 and 304 answers of GET /products/{id}, and `Cache-Control: no-store` on the answers to PUT.',
        async run(ctx) {
          const up = upstreamOf(ctx);
          const p = up.create(ctx.random);
          const ttl = Number(ctx.env.CACHE_TTL_SECONDS);
          const expectMaxAge = (r: HttpResponse, what: string) => {
            const value = r.header('cache-control');
            const d = directives(value);
            const maxAge = d.get('max-age');
            const n = typeof maxAge === 'string' && /^\d+$/.test(maxAge) ? Number(maxAge) : undefined;
            expectThat(n !== undefined && n >= 1 && n <= ttl && !d.has('no-store') && !d.has('no-cache'), `${what} must say how long a client may reuse it: \`Cache-Control: max-age=N\` with N from 1 to CACHE_TTL_SECONDS (${ttl}), and neither no-store nor no-cache.`, {
              expected: `Cache-Control: max-age=${ttl}`,
              received: `Cache-Control: ${value ?? '(none)'}`,
              res: r,
            });
          };
          const res = await expectProduct(ctx, p, `GET /products/${p.id} must answer the upstream's product.`);
          expectMaxAge(res, `The 200 answer to GET /products/${p.id}`);
          const tag = res.header('etag');
          if (tag !== undefined) {
            const r = await ctx.http.get(`/products/${p.id}`, { headers: { 'If-None-Match': tag } });
            if (r.status === 304) expectMaxAge(r, `The 304 answer to GET /products/${p.id} (it stands for the 200 and carries the same caching headers)`);
          }
          const put = await ctx.http.put(`/products/${p.id}`, { name: productName(ctx.random), price: ctx.random.int(100, 99_999) });
          expectJson(put, 200, `PUT /products/${p.id} must answer 200 with the updated product.`);
          const d = directives(put.header('cache-control'));
          expectThat(d.has('no-store'), `The answer to PUT /products/${p.id} must not be stored by any cache: \`Cache-Control: no-store\`.`, {
            expected: 'Cache-Control: no-store',
            received: `Cache-Control: ${put.header('cache-control') ?? '(none)'}`,
            res: put,
          });
        },
      },
    ],
  },
  import.meta.dirname,
);

function parseBody(res: HttpResponse): unknown {
  try {
    return JSON.parse(res.text);
  } catch {
    return undefined;
  }
}
