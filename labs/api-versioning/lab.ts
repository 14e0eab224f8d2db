import { centsOf, defineLab, expectEqual, HARD, mixHard, expectJson, expectProblem, expectThat, headerTokens, mediaType, parseHttpDate, parseSfItem, type CheckContext, type HttpResponse, type Random } from '../../grader/index.ts';

const V1 = 'application/vnd.shop.v1+json';
const V2 = 'application/vnd.shop.v2+json';

interface Made {
  id: string;
  name: string;
  cents: number;
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
const v1Of = (p: Made) => ({ id: p.id, name: p.name, price: p.cents / 100 });
const v2Of = (p: Made) => ({ id: p.id, name: p.name, price_cents: p.cents, currency: 'USD' });

function productInput(r: Random): { name: string; cents: number } {
  return { name: `${cap(r.word())} ${r.word()}`, cents: r.int(100, 99_999) };
}

/** Dollar prices whose cents are not exact in binary floating point (19.99 * 100 = 1998.9999999999998). */
const FLOAT_TRAPS = HARD.money.filter((p) => Math.trunc(p * 100) !== centsOf(p));

/** v1 inputs for a run: always at least one float trap among the random prices. */
function v1Inputs(r: Random, n: number): { name: string; cents: number }[] {
  return mixHard(r, n, FLOAT_TRAPS, (rr) => rr.int(100, 99_999) / 100, 1).map((dollars) => ({ name: `${cap(r.word())} ${r.word()}`, cents: centsOf(dollars) }));
}

/** A v1 price read back in cents one off: the dollars were truncated, not rounded. */
function expectRoundedCents(got: unknown, made: Made, res: HttpResponse): void {
  const cents = (got as { price_cents?: unknown })?.price_cents;
  if (typeof cents === 'number' && cents !== made.cents && Math.abs(cents - made.cents) === 1) {
    res.fail(
      `A product created through v1 with "price": ${made.cents / 100} reads through v2 as "price_cents": ${cents}, one cent off. In binary floating point ${made.cents / 100} * 100 is ${(made.cents / 100) * 100}: truncating it (int(), Math.trunc, Math.floor, parseInt) loses a cent. Round to the nearest cent (Math.round / round()).`,
      `"price_cents": ${made.cents}`,
      `"price_cents": ${cents}`,
    );
  }
}

/** A v1 price echoed back one cent off: stored as truncated cents. */
function expectRoundedDollars(got: unknown, made: Made, res: HttpResponse): void {
  const price = (got as { price?: unknown })?.price;
  if (typeof price === 'number' && Math.abs(Math.round(price * 100) - made.cents) === 1) {
    res.fail(
      `POST /v1/products with "price": ${made.cents / 100} answered "price": ${price}, one cent off. In binary floating point ${made.cents / 100} * 100 is ${(made.cents / 100) * 100}: truncating it to cents (int(), Math.trunc, Math.floor, parseInt) loses a cent. Round to the nearest cent (Math.round / round()).`,
      `"price": ${made.cents / 100}`,
      `"price": ${price}`,
    );
  }
}

/** Instants as ISO 8601 for the env, drawn so that the sunset is always after the deprecation. */
function isoSeconds(r: Random, from: string, to: string): string {
  const ms = r.int(Date.parse(from) / 1000, Date.parse(to) / 1000) * 1000;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

async function createV1(ctx: CheckContext, input: { name: string; cents: number }): Promise<{ made: Made; res: HttpResponse; body: any }> {
  const res = await ctx.http.post('/v1/products', { name: input.name, price: input.cents / 100 });
  const body = expectJson(res, 201, 'POST /v1/products must create the product: 201 with its v1 representation.');
  expectThat(typeof body?.id === 'string' && body.id !== '', 'A created product must carry a string `id`.', { expected: '{"id": "...", ...}', res });
  return { made: { id: body.id, ...input }, res, body };
}

async function createV2(ctx: CheckContext, input: { name: string; cents: number }): Promise<{ made: Made; res: HttpResponse; body: any }> {
  const res = await ctx.http.post('/v2/products', { name: input.name, price_cents: input.cents });
  const body = expectJson(res, 201, 'POST /v2/products must create the product: 201 with its v2 representation.');
  expectThat(typeof body?.id === 'string' && body.id !== '', 'A created product must carry a string `id`.', { expected: '{"id": "...", ...}', res });
  return { made: { id: body.id, ...input }, res, body };
}

function expectListOf(list: unknown, expected: object[], shape: (p: any) => boolean, message: string, res: HttpResponse): void {
  expectThat(Array.isArray(list), message, { res });
  const items = list as any[];
  const bad = items.find((p) => !shape(p));
  expectThat(bad === undefined, `${message} Every element must have exactly the fields of this version; this one does not: ${JSON.stringify(bad)}.`, { res });
  for (const e of expected) {
    const found = items.find((p) => p?.id === (e as { id: string }).id);
    expectEqual(found, e, `${message} It must contain product ${(e as { id: string }).id} in this version's form.`, res);
  }
}

const sameKeys = (o: unknown, keys: string[]) => o !== null && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).sort().join() === [...keys].sort().join();
const isV1 = (p: any) => sameKeys(p, ['id', 'name', 'price']) && typeof p.price === 'number';
const isV2 = (p: any) => sameKeys(p, ['id', 'name', 'price_cents', 'currency']) && Number.isInteger(p.price_cents);

function expectJsonFor(res: HttpResponse, version: 1 | 2, what: string): unknown {
  const body = expectJson(res, 200, `${what} must answer 200 with JSON.`);
  const type = mediaType(res.header('content-type'));
  const vendor = /^application\/vnd\.shop\.v(\d+)\+json$/.exec(type);
  expectThat(!vendor || Number(vendor[1]) === version, `${what} must serve version ${version}, but the Content-Type of the answer names v${vendor?.[1]}.`, {
    expected: `Content-Type: application/vnd.shop.v${version}+json (or application/json)`,
    received: `Content-Type: ${res.header('content-type')}`,
    res,
  });
  return body;
}

export default defineLab(
  {
    id: 'api-versioning',
    title: 'API versioning: v2 without breaking v1',
    track: 'api-design',
    summary: 'Add a v2 with breaking changes next to a v1 that must not change, negotiate the version by path or Accept header (with Vary), and deprecate v1 with Deprecation and Sunset headers.',
    difficulty: 'intermediate',
    estimatedMinutes: 50,
    questions: [27],
    env: {
      V1_DEPRECATED_AT: { description: 'When v1 was deprecated (ISO 8601, UTC): sent in the Deprecation header.', value: (r) => isoSeconds(r, '2024-01-01T00:00:00Z', '2024-12-31T23:59:59Z') },
      V1_SUNSET_AT: { description: 'When v1 will stop working (ISO 8601, UTC): sent in the Sunset header.', value: (r) => isoSeconds(r, '2025-03-01T00:00:00Z', '2026-12-31T23:59:59Z') },
    },
    checks: [
      {
        id: 'v2-products',
        title: 'v2 exists: prices in integer cents, lists in an envelope',
        hint: 'Add /v2/products next to /v1/products over the same data: {"id","name","price_cents","currency":"USD"}, and GET /v2/products answers {"items": [...]}.',
        async run(ctx) {
          const { made, res, body } = await createV2(ctx, productInput(ctx.random));
          expectEqual(body, v2Of(made), 'POST /v2/products must answer the product in its v2 form: {"id", "name", "price_cents", "currency": "USD"}.', res);
          const one = await ctx.http.get(`/v2/products/${made.id}`);
          expectEqual(expectJson(one, 200), v2Of(made), `GET /v2/products/${made.id} must answer the product in its v2 form.`, one);
          // Prices from v1 always include values like 19.99, whose cents a truncating conversion gets wrong.
          const olds: Made[] = [];
          for (const input of v1Inputs(ctx.random, 3)) {
            const old = (await createV1(ctx, input)).made;
            olds.push(old);
            const viaV2 = await ctx.http.get(`/v2/products/${old.id}`);
            const got = expectJson(viaV2, 200);
            expectRoundedCents(got, old, viaV2);
            expectEqual(got, v2Of(old), 'A product created through v1 must read through v2 too (one model, two representations): its price in integer cents.', viaV2);
          }
          const old = olds[0];
          const list = await ctx.http.get('/v2/products');
          const listBody = expectJson(list, 200, 'GET /v2/products must answer 200 with JSON.');
          expectThat(listBody && typeof listBody === 'object' && !Array.isArray(listBody), 'GET /v2/products must answer an envelope object {"items": [...]}, not a bare array.', { expected: '{"items": [...]}', res: list });
          expectListOf(listBody.items, [v2Of(made), v2Of(old)], isV2, 'GET /v2/products must answer {"items": [...]} with every product in its v2 form.', list);
          const missing = `${ctx.random.string(12)}`;
          expectProblem(await ctx.http.get(`/v2/products/${missing}`), 404, `GET /v2/products/${missing}: no product has this id, so the answer is 404 (as problem details).`);
        },
      },
      {
        id: 'v1-unchanged',
        title: 'The v1 contract is unchanged: same fields, same types, same list shape',
        hint: 'Do not touch v1 responses: exactly {"id","name","price"} with price in currency units (a number), lists as a bare array; products created through v2 appear in v1 in that form.',
        async run(ctx) {
          const { made, res, body } = await createV1(ctx, v1Inputs(ctx.random, 1)[0]!);
          expectRoundedDollars(body, made, res);
          expectEqual(body, v1Of(made), 'POST /v1/products must still answer exactly {"id", "name", "price"}: existing v1 clients depend on it (no new or renamed fields).', res);
          const one = await ctx.http.get(`/v1/products/${made.id}`);
          expectEqual(expectJson(one, 200), v1Of(made), `GET /v1/products/${made.id} must still answer exactly {"id", "name", "price"}.`, one);
          const newer = (await createV2(ctx, productInput(ctx.random))).made;
          const viaV1 = await ctx.http.get(`/v1/products/${newer.id}`);
          expectEqual(expectJson(viaV1, 200), v1Of(newer), 'A product created through v2 must read through v1 in the v1 form: price = price_cents / 100.', viaV1);
          const list = await ctx.http.get('/v1/products');
          expectListOf(expectJson(list, 200), [v1Of(made), v1Of(newer)], isV1, 'GET /v1/products must still answer a bare JSON array of {"id", "name", "price"}.', list);
          const missing = `${ctx.random.string(12)}`;
          expectProblem(await ctx.http.get(`/v1/products/${missing}`), 404, `GET /v1/products/${missing}: no product has this id, so the answer is 404 (as problem details).`);
        },
      },
      {
        id: 'unknown-version',
        title: 'An unknown version is 404 in the path and 406 in Accept',
        hint: 'Only v1 and v2 exist: /v3/... is a 404; `Accept: application/vnd.shop.v3+json` asks for a representation you cannot produce: 406 Not Acceptable (problem details).',
        async run(ctx) {
          const { made } = await createV2(ctx, productInput(ctx.random));
          for (const p of ['/v3/products', `/v3/products/${made.id}`, `/v0/products/${made.id}`]) {
            expectProblem(await ctx.http.get(p), 404, `GET ${p}: there is no such version of the API, so the answer is 404 (as problem details).`);
          }
          const v = ctx.random.int(3, 9);
          const res = await ctx.http.get(`/products/${made.id}`, { headers: { Accept: `application/vnd.shop.v${v}+json` } });
          expectProblem(res, 406, `Accept: application/vnd.shop.v${v}+json asks for version ${v}, which does not exist: 406 Not Acceptable (as problem details).`);
        },
      },
      {
        id: 'header-negotiation',
        title: 'GET /products picks the version from Accept (v1 by default)',
        hint: 'On /products and /products/<id>, read Accept: application/vnd.shop.v2+json gives the v2 representation, application/vnd.shop.v1+json or no version at all gives v1.',
        async run(ctx) {
          const { made } = await createV2(ctx, productInput(ctx.random));
          const byPath = {
            1: expectJson(await ctx.http.get(`/v1/products/${made.id}`), 200),
            2: expectJson(await ctx.http.get(`/v2/products/${made.id}`), 200),
          };
          expectThat(JSON.stringify(byPath[1]) !== JSON.stringify(byPath[2]), 'The v1 and v2 representations of a product must differ (price vs price_cents).', { received: JSON.stringify(byPath) });
          const cases: { accept?: string; version: 1 | 2 }[] = [
            { accept: V2, version: 2 },
            { accept: V1, version: 1 },
            { accept: undefined, version: 1 },
            { accept: 'application/json', version: 1 },
            { accept: '*/*', version: 1 },
            { accept: `text/html, ${V2};q=0.9`, version: 2 },
          ];
          for (const c of cases) {
            const what = `GET /products/${made.id} with ${c.accept === undefined ? 'no Accept header' : `Accept: ${c.accept}`}`;
            const res = await ctx.http.get(`/products/${made.id}`, { headers: c.accept === undefined ? {} : { Accept: c.accept } });
            expectEqual(expectJsonFor(res, c.version, what), byPath[c.version], `${what} must answer the v${c.version} representation, the same as GET /v${c.version}/products/${made.id}.`, res);
          }
          for (const version of [1, 2] as const) {
            const res = await ctx.http.get('/products', { headers: { Accept: version === 1 ? V1 : V2 } });
            const path = await ctx.http.get(`/v${version}/products`);
            const what = `GET /products with Accept: ${version === 1 ? V1 : V2}`;
            expectEqual(expectJsonFor(res, version, what), expectJson(path, 200), `${what} must answer the same as GET /v${version}/products.`, res);
          }
        },
      },
      {
        id: 'vary-accept',
        title: 'Negotiated responses carry Vary: Accept',
        hint: 'When the body depends on a request header, say so: `Vary: Accept` on every answer from /products, or a cache will serve v2 to a v1 client.',
        async run(ctx) {
          const { made } = await createV2(ctx, productInput(ctx.random));
          for (const accept of [V2, V1, undefined]) {
            for (const p of [`/products/${made.id}`, '/products']) {
              const res = await ctx.http.get(p, { headers: accept ? { Accept: accept } : {} });
              res.expectStatus(200);
              const vary = headerTokens(res.header('vary'), false);
              expectThat(vary.includes('accept') || vary.includes('*'), `GET ${p}${accept ? ` with Accept: ${accept}` : ' without Accept'} chooses its representation by the Accept header, so it must carry \`Vary: Accept\` (caches must not mix versions).`, {
                expected: 'Vary: Accept',
                received: `Vary: ${res.header('vary') ?? '(absent)'}`,
                res,
              });
            }
          }
        },
      },
      {
        id: 'deprecation-sunset',
        title: 'v1 answers carry Deprecation (RFC 9745) and Sunset (RFC 8594); v2 answers do not',
        hint: 'On every v1 answer: `Deprecation: @<unix seconds of V1_DEPRECATED_AT>` (a structured-field date) and `Sunset: <V1_SUNSET_AT as an HTTP-date, e.g. Sat, 01 Mar 2025 00:00:00 GMT>`.',
        async run(ctx) {
          const deprecatedAt = Date.parse(ctx.env.V1_DEPRECATED_AT);
          const sunsetAt = Date.parse(ctx.env.V1_SUNSET_AT);
          const { made } = await createV2(ctx, productInput(ctx.random));
          const v1Answers: { what: string; send: () => Promise<HttpResponse> }[] = [
            { what: `GET /v1/products/${made.id}`, send: () => ctx.http.get(`/v1/products/${made.id}`) },
            { what: 'GET /v1/products', send: () => ctx.http.get('/v1/products') },
            { what: 'POST /v1/products', send: () => ctx.http.post('/v1/products', { name: ctx.random.word(), price: ctx.random.int(100, 9999) / 100 }) },
            { what: `GET /products/${made.id} with Accept: ${V1}`, send: () => ctx.http.get(`/products/${made.id}`, { headers: { Accept: V1 } }) },
            { what: `GET /products/${made.id} without Accept (v1 by default)`, send: () => ctx.http.get(`/products/${made.id}`) },
          ];
          for (const a of v1Answers) {
            const res = await a.send();
            res.expectStatus([200, 201]);
            const dep = res.expectHeader('deprecation', undefined, `${a.what} is a v1 answer, and v1 is deprecated: it must carry a \`Deprecation\` header (RFC 9745).`);
            let depDate: Date | undefined;
            try {
              const { value } = parseSfItem(dep);
              if (value instanceof Date) depDate = value;
            } catch {
              depDate = undefined;
            }
            expectThat(depDate !== undefined, `The Deprecation header must be a structured-field date (RFC 9745): "@" and the Unix time in seconds, e.g. @${Math.floor(deprecatedAt / 1000)}.`, {
              expected: `Deprecation: @${Math.floor(deprecatedAt / 1000)}`,
              received: `Deprecation: ${dep}`,
              res,
            });
            expectThat(depDate!.getTime() === deprecatedAt, `The Deprecation date must be V1_DEPRECATED_AT (${ctx.env.V1_DEPRECATED_AT}).`, {
              expected: `Deprecation: @${Math.floor(deprecatedAt / 1000)}`,
              received: `Deprecation: ${dep} (= ${depDate!.toISOString()})`,
              res,
            });
            const sun = res.expectHeader('sunset', undefined, `${a.what} is a v1 answer: it must carry a \`Sunset\` header (RFC 8594) saying when v1 stops working.`);
            const sunDate = parseHttpDate(sun);
            expectThat(sunDate !== undefined, 'The Sunset header must be an HTTP-date (RFC 8594, RFC 9110), e.g. "Sun, 06 Nov 1994 08:49:37 GMT": not ISO 8601, not a number.', {
              expected: `Sunset: ${new Date(sunsetAt).toUTCString()}`,
              received: `Sunset: ${sun}`,
              res,
            });
            expectThat(sunDate!.date.getTime() === sunsetAt, `The Sunset date must be V1_SUNSET_AT (${ctx.env.V1_SUNSET_AT}).`, {
              expected: `Sunset: ${new Date(sunsetAt).toUTCString()}`,
              received: `Sunset: ${sun} (= ${sunDate!.date.toISOString()})`,
              res,
            });
            expectThat(sunDate!.date.getTime() >= depDate!.getTime(), 'The Sunset date cannot be before the Deprecation date.', { received: `Deprecation: ${dep}, Sunset: ${sun}`, res });
          }
          for (const [what, send] of [
            [`GET /v2/products/${made.id}`, () => ctx.http.get(`/v2/products/${made.id}`)],
            [`GET /products/${made.id} with Accept: ${V2}`, () => ctx.http.get(`/products/${made.id}`, { headers: { Accept: V2 } })],
          ] as const) {
            const res = await send();
            res.expectStatus(200);
            expectThat(res.header('deprecation') === undefined && res.header('sunset') === undefined, `${what} is a v2 answer: v2 is current, so it must not carry Deprecation or Sunset.`, {
              expected: 'no Deprecation, no Sunset',
              received: `Deprecation: ${res.header('deprecation') ?? '(absent)'}, Sunset: ${res.header('sunset') ?? '(absent)'}`,
              res,
            });
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
