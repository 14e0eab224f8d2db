// api-hardening: API keys with scopes, CORS for one browser front end, security headers, body limits.
// "Stored hashed" cannot be seen from outside, so the checks prove what hashing makes true: a key is shown
// once and never again (listings, logs), a near-miss key fails, a revoked key fails, scopes are enforced.
import {
  defineLab,
  expectJson,
  expectThat,
  headerTokens,
  sendChunked,
  type CheckContext,
  type HttpResponse,
} from '../../grader/index.ts';

interface CreatedKey {
  id: string;
  key: string;
  scopes: string[];
  name: string;
}

function admin(ctx: CheckContext): Record<string, string> {
  return { Authorization: `Bearer ${ctx.env.ADMIN_TOKEN}` };
}

async function createKey(ctx: CheckContext, scopes: string[], name = `${ctx.random.word()}-${ctx.random.string(4)}`): Promise<CreatedKey & { res: HttpResponse }> {
  const res = await ctx.http.post('/admin/keys', { name, scopes }, { headers: admin(ctx) });
  const body = expectJson(res, 201, `POST /admin/keys (admin token, scopes ${JSON.stringify(scopes)}) must create the key: 201 with {"id", "name", "scopes", "key"}.`);
  expectThat(body && (typeof body.id === 'string' || typeof body.id === 'number') && typeof body.key === 'string', 'The 201 answer to POST /admin/keys must carry the new key\'s `id` and its secret `key` (shown this one time).', {
    expected: '{"id": "...", "name": "...", "scopes": [...], "key": "<secret>"}',
    res,
  });
  expectThat(body.key.length >= 32, 'An API key must be long and random (at least 32 characters, e.g. 32 random bytes in base64url) so it cannot be guessed.', {
    expected: 'a "key" of at least 32 characters',
    received: `"key": ${JSON.stringify(body.key)} (${body.key.length} characters)`,
    res,
  });
  return { id: String(body.id), key: body.key, scopes, name, res };
}

function withKey(key: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return key === undefined ? { ...extra } : { 'X-API-Key': key, ...extra };
}

function listNotes(ctx: CheckContext, key: string | undefined, extra: Record<string, string> = {}): Promise<HttpResponse> {
  return ctx.http.get('/api/notes', { headers: withKey(key, extra) });
}

async function noteTexts(ctx: CheckContext, key: string): Promise<string[]> {
  const res = await listNotes(ctx, key);
  const body = expectJson(res, 200, 'GET /api/notes with a notes:read key must answer 200 with {"notes": [...]}.');
  expectThat(body && Array.isArray(body.notes), 'GET /api/notes must answer {"notes": [{"id", "text"}, ...]}.', { res });
  return body.notes.map((n: any) => n?.text);
}

/** Any 12-character run of a secret: a short recognisable prefix is fine, more is a leak. */
function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 12 <= secret.length; i++) if (text.includes(secret.slice(i, i + 12))) return true;
  return false;
}

/** The CORS answer must not let `origin` read it: no ACAO, or the allowed origin only (the browser then blocks). */
function expectNotAllowed(res: HttpResponse, origin: string, allowed: string, what: string): void {
  const acao = res.header('access-control-allow-origin');
  expectThat(acao === undefined || acao === allowed, `${what}: the answer lets ${origin} read it (\`Access-Control-Allow-Origin: ${acao}\`). Only ${allowed} may be allowed.`, {
    expected: `no Access-Control-Allow-Origin (or exactly ${allowed})`,
    received: `Access-Control-Allow-Origin: ${acao}`,
    res,
  });
}

function foreignOrigins(ctx: CheckContext): string[] {
  const allowed = ctx.env.CORS_ORIGIN;
  const host = new URL(allowed).host;
  return [`https://${ctx.random.word()}-evil.test`, `${allowed}.evil.test`, `https://evil${host}`, 'null'];
}

/** A JSON body of exactly `size` bytes: {"text":"<marker>xxxx..."}. */
function noteOfSize(size: number, marker: string): string {
  const empty = JSON.stringify({ text: marker });
  return JSON.stringify({ text: marker + 'x'.repeat(Math.max(0, size - Buffer.byteLength(empty))) });
}

export default defineLab(
  {
    id: 'api-hardening',
    title: 'API hardening: scoped API keys, CORS, security headers, body limits',
    track: 'security',
    summary: 'Issue hashed, scoped, revocable API keys; allow exactly one browser origin with CORS; send security headers; refuse oversized bodies with 413.',
    difficulty: 'intermediate',
    estimatedMinutes: 75,
    questions: [15, 47],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check.
    malformedRequests: { paths: ['/admin/keys/'] },
    env: {
      ADMIN_TOKEN: { description: 'Bearer token for the /admin endpoints.', value: (r) => r.string(40) },
      CORS_ORIGIN: { description: 'The one browser origin (the front end) allowed to call /api with CORS.', value: (r) => `https://app-${r.word()}.example.com` },
      MAX_BODY_BYTES: { description: 'Largest request body accepted, in bytes; larger bodies get 413.', value: (r) => String(r.int(2000, 6000)) },
    },
    checks: [
      {
        id: 'create-key',
        title: 'POST /admin/keys (admin only) creates a long random key that works on GET /api/notes',
        hint: 'Check `Authorization: Bearer <ADMIN_TOKEN>`, generate 32 random bytes as the key, keep only its hash, answer 201 with the key once.',
        async run(ctx) {
          const scopes = ['notes:read'];
          const anonymous = await ctx.http.post('/admin/keys', { name: 'x', scopes });
          anonymous.expectStatus(401, 'POST /admin/keys without the admin token must be refused with 401.');
          const token = ctx.env.ADMIN_TOKEN;
          const wrong = await ctx.http.post('/admin/keys', { name: 'x', scopes }, { headers: { Authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}` } });
          wrong.expectStatus(401, 'POST /admin/keys with a wrong admin token must be refused with 401.');
          const first = await createKey(ctx, scopes);
          const second = await createKey(ctx, ['notes:read', 'notes:write']);
          expectThat(first.key !== second.key && first.id !== second.id, 'Two keys must get different ids and different secrets.', {
            received: `ids ${first.id} / ${second.id}, keys ${first.key} / ${second.key}`,
            res: second.res,
          });
          const res = await listNotes(ctx, first.key);
          const body = expectJson(res, 200, 'GET /api/notes with the new notes:read key in `X-API-Key` must answer 200.');
          expectThat(Array.isArray(body?.notes), 'GET /api/notes must answer {"notes": [...]}.', { res });
        },
      },
      {
        id: 'key-auth',
        title: 'Missing, unknown, truncated or altered keys are 401',
        hint: 'Hash the presented key and look the hash up; accept only an exact match of the whole key.',
        async run(ctx) {
          const { key } = await createKey(ctx, ['notes:read']);
          (await listNotes(ctx, key)).expectStatus(200, 'GET /api/notes with a valid notes:read key must answer 200.');
          const swap = (c: string) => (c === 'A' ? 'B' : 'A');
          const cases: [string | undefined, string][] = [
            [undefined, 'no X-API-Key header'],
            ['', 'an empty X-API-Key'],
            [ctx.random.string(key.length), 'an unknown key of the same length'],
            [`${key.slice(0, -1)}${swap(key.at(-1)!)}`, 'the real key with its last character changed'],
            [key.slice(0, Math.ceil(key.length / 2)), 'the first half of the real key'],
            [`${key}${ctx.random.string(4)}`, 'the real key with extra characters appended'],
          ];
          for (const [value, what] of cases) {
            const res = await listNotes(ctx, value);
            res.expectStatus(401, `GET /api/notes with ${what} must be refused with 401 Unauthorized.`);
          }
        },
      },
      {
        id: 'scopes',
        title: 'A key without the needed scope is 403 and does nothing',
        hint: 'notes:read for GET /api/notes, notes:write for POST /api/notes; a known key without the scope is 403 (authenticated, not allowed), checked before any write.',
        async run(ctx) {
          const reader = await createKey(ctx, ['notes:read']);
          const writer = await createKey(ctx, ['notes:write']);
          const t1 = `note ${ctx.random.word()} ${ctx.random.string(8)}`;
          const created = await ctx.http.post('/api/notes', { text: t1 }, { headers: withKey(writer.key) });
          const note = expectJson(created, 201, 'POST /api/notes with a notes:write key must create the note: 201 with {"id", "text"}.');
          expectThat(note?.text === t1, 'POST /api/notes must answer the created note {"id", "text"}.', { expected: `"text": "${t1}"`, res: created });
          expectThat((await noteTexts(ctx, reader.key)).includes(t1), 'GET /api/notes (notes:read key) must list the note just created.', { expected: `a note with "text": "${t1}"` });

          const t2 = `note ${ctx.random.word()} ${ctx.random.string(8)}`;
          const denied = await ctx.http.post('/api/notes', { text: t2 }, { headers: withKey(reader.key) });
          denied.expectStatus(403, 'POST /api/notes with a key that only has notes:read must be refused with 403 Forbidden (the key is valid, the scope is missing).');
          expectThat(!(await noteTexts(ctx, reader.key)).includes(t2), 'POST /api/notes with a read-only key was refused, yet the note was stored: check the scope before writing.', { expected: `no note with "text": "${t2}"` });
          const blind = await listNotes(ctx, writer.key);
          blind.expectStatus(403, 'GET /api/notes with a key that only has notes:write must be refused with 403.');
        },
      },
      {
        id: 'revoke',
        title: 'DELETE /admin/keys/{id} revokes a key at once; other keys keep working',
        hint: 'Delete the key record (or mark it revoked) in the store your authentication reads, so the very next request with it is 401.',
        async run(ctx) {
          const doomed = await createKey(ctx, ['notes:read']);
          const survivor = await createKey(ctx, ['notes:read']);
          (await listNotes(ctx, doomed.key)).expectStatus(200, 'GET /api/notes with a fresh notes:read key must answer 200.');
          const anonymous = await ctx.http.delete(`/admin/keys/${encodeURIComponent(doomed.id)}`);
          anonymous.expectStatus(401, 'DELETE /admin/keys/{id} without the admin token must be refused with 401.');
          const del = await ctx.http.delete(`/admin/keys/${encodeURIComponent(doomed.id)}`, { headers: admin(ctx) });
          del.expectStatus([200, 204], `DELETE /admin/keys/${doomed.id} with the admin token must revoke the key (204).`);
          (await listNotes(ctx, doomed.key)).expectStatus(401, 'GET /api/notes with a revoked key must be refused with 401 straight away.');
          (await listNotes(ctx, survivor.key)).expectStatus(200, 'Revoking one key must not affect the others: GET /api/notes with another key must still answer 200.');
          const again = await ctx.http.delete(`/admin/keys/${encodeURIComponent(doomed.id)}`, { headers: admin(ctx) });
          again.expectStatus(404, 'DELETE /admin/keys/{id} for a key already revoked must answer 404.');
          const list = await ctx.http.get('/admin/keys', { headers: admin(ctx) });
          const body = expectJson(list, 200, 'GET /admin/keys with the admin token must answer 200 with {"keys": [...]}.');
          const ids = Array.isArray(body?.keys) ? body.keys.map((k: any) => String(k?.id)) : [];
          expectThat(!ids.includes(doomed.id) && ids.includes(survivor.id), 'GET /admin/keys must list the live keys and no longer the revoked one.', {
            expected: `ids include ${survivor.id}, not ${doomed.id}`,
            received: `ids ${JSON.stringify(ids)}`,
            res: list,
          });
        },
      },
      {
        id: 'key-secrecy',
        title: 'A key is shown once: never in GET /admin/keys, never in the server output',
        hint: 'Store sha256(key) and metadata only; list id, name, scopes (a prefix of up to 8 characters is fine); never log the key.',
        async run(ctx) {
          const a = await createKey(ctx, ['notes:read']);
          const b = await createKey(ctx, ['notes:read', 'notes:write']);
          await listNotes(ctx, a.key);
          const anonymous = await ctx.http.get('/admin/keys');
          anonymous.expectStatus(401, 'GET /admin/keys without the admin token must be refused with 401.');
          const res = await ctx.http.get('/admin/keys', { headers: admin(ctx) });
          const body = expectJson(res, 200, 'GET /admin/keys with the admin token must answer 200 with {"keys": [...]}.');
          const entries = Array.isArray(body?.keys) ? body.keys : [];
          for (const k of [a, b]) {
            const entry = entries.find((e: any) => String(e?.id) === k.id);
            expectThat(entry && Array.isArray(entry.scopes) && [...entry.scopes].sort().join() === [...k.scopes].sort().join(), `GET /admin/keys must list key ${k.id} with its scopes.`, {
              expected: `{"id": "${k.id}", "name": "${k.name}", "scopes": ${JSON.stringify(k.scopes)}}`,
              res,
            });
            expectThat(!leaks(res.text, k.key), `GET /admin/keys shows the secret of key ${k.id}: a key is shown once, at creation; store only its hash.`, {
              expected: 'ids, names, scopes (a short prefix of at most 8 characters is fine)',
              res,
            });
          }
          const logged = ctx.server.output().find((line) => leaks(line, a.key) || leaks(line, b.key));
          expectThat(logged === undefined, 'Your server printed an API key: logs are read by many people and kept for long. Never log secrets.', {
            expected: 'no key in the server output',
            received: logged,
          });
        },
      },
      {
        id: 'cors-preflight',
        title: 'A CORS preflight is answered for CORS_ORIGIN only, without an API key',
        hint: 'Answer OPTIONS on /api/* before authentication: 204 with Access-Control-Allow-Origin: <CORS_ORIGIN>, -Methods, -Headers (X-API-Key, Content-Type); never * and never another origin.',
        async run(ctx) {
          const allowed = ctx.env.CORS_ORIGIN;
          const preflight = (origin: string) =>
            ctx.http.options('/api/notes', {
              headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-api-key' },
            });
          const res = await preflight(allowed);
          res.expectStatus([200, 204], `A preflight from ${allowed} (OPTIONS /api/notes, no API key: browsers never send credentials on a preflight) must succeed with 200 or 204.`);
          res.expectHeader('access-control-allow-origin', allowed, `The preflight from ${allowed} must allow exactly that origin.`);
          const methods = headerTokens(res.header('access-control-allow-methods'));
          expectThat(methods.includes('POST') || methods.includes('*'), 'The preflight must allow the requested method: `Access-Control-Allow-Methods` must list POST.', {
            expected: 'Access-Control-Allow-Methods: GET, POST',
            received: `Access-Control-Allow-Methods: ${res.header('access-control-allow-methods')}`,
            res,
          });
          const headers = headerTokens(res.header('access-control-allow-headers'), false);
          expectThat(headers.includes('*') || (headers.includes('x-api-key') && headers.includes('content-type')), 'The preflight must allow the requested headers: `Access-Control-Allow-Headers` must list X-API-Key and Content-Type.', {
            expected: 'Access-Control-Allow-Headers: Content-Type, X-API-Key',
            received: `Access-Control-Allow-Headers: ${res.header('access-control-allow-headers')}`,
            res,
          });
          for (const origin of foreignOrigins(ctx)) {
            expectNotAllowed(await preflight(origin), origin, allowed, `A preflight from \`Origin: ${origin}\``);
          }
        },
      },
      {
        id: 'cors-response',
        title: 'API responses allow CORS_ORIGIN only, with Vary: Origin when the answer depends on it',
        hint: 'Add Access-Control-Allow-Origin: <CORS_ORIGIN> only when the request Origin is exactly CORS_ORIGIN, and `Vary: Origin` on every /api response so caches keep them apart.',
        async run(ctx) {
          const allowed = ctx.env.CORS_ORIGIN;
          const { key } = await createKey(ctx, ['notes:read']);
          const ok = await listNotes(ctx, key, { Origin: allowed });
          ok.expectStatus(200, 'GET /api/notes from the front end (valid key) must answer 200.');
          ok.expectHeader('access-control-allow-origin', allowed, `GET /api/notes with \`Origin: ${allowed}\` must carry \`Access-Control-Allow-Origin: ${allowed}\`, or the front end cannot read it.`);
          for (const origin of foreignOrigins(ctx)) {
            const res = await listNotes(ctx, key, { Origin: origin });
            expectNotAllowed(res, origin, allowed, `GET /api/notes with \`Origin: ${origin}\``);
            if (res.header('access-control-allow-origin') !== ok.header('access-control-allow-origin')) {
              for (const r of [ok, res]) {
                expectThat(headerTokens(r.header('vary'), false).some((v) => v === 'origin' || v === '*'), 'Your CORS headers depend on the request Origin, so every /api response must say `Vary: Origin`: otherwise a shared cache can serve one origin\'s answer to another.', {
                  expected: 'Vary: Origin',
                  received: `Vary: ${r.header('vary') ?? '(absent)'}`,
                  res: r,
                });
              }
            }
          }
        },
      },
      {
        id: 'security-headers',
        title: 'Every response has X-Content-Type-Options: nosniff and no X-Powered-By; HSTS over HTTPS; new keys are not cached',
        hint: 'Set the headers once for every response (errors included): nosniff, no X-Powered-By, Strict-Transport-Security when X-Forwarded-Proto is https, Cache-Control: no-store on the key.',
        async run(ctx) {
          const created = await createKey(ctx, ['notes:read']);
          const samples: [string, HttpResponse][] = [
            ['POST /admin/keys (201)', created.res],
            ['GET /api/notes (200)', await listNotes(ctx, created.key)],
            ['GET /api/notes without a key (401)', await listNotes(ctx, undefined)],
            ['GET /api/notes with a key lacking the scope (403)', await listNotes(ctx, (await createKey(ctx, ['notes:write'])).key)],
            [`GET /${ctx.random.word()} (404)`, await ctx.http.get(`/${ctx.random.word()}-${ctx.random.string(4)}`)],
          ];
          for (const [what, res] of samples) {
            res.expectHeader('x-content-type-options', (v) => v.trim().toLowerCase() === 'nosniff', `${what}: every response needs \`X-Content-Type-Options: nosniff\`, error responses too, so browsers never guess a content type.`, 'nosniff');
            expectThat(res.header('x-powered-by') === undefined, `${what}: drop the \`X-Powered-By\` header; it advertises your stack to attackers.`, {
              expected: 'no X-Powered-By',
              received: `X-Powered-By: ${res.header('x-powered-by')}`,
              res,
            });
          }
          created.res.expectHeader('cache-control', (v) => headerTokens(v, false).includes('no-store'), 'The answer that carries a new API key must say `Cache-Control: no-store` so no cache keeps the secret.', 'no-store (alone or in a list, e.g. `no-store, private`)');
          const https = await listNotes(ctx, created.key, { 'X-Forwarded-Proto': 'https' });
          const hsts = https.expectHeader('strict-transport-security', undefined, 'A request that came over HTTPS (`X-Forwarded-Proto: https`) must get `Strict-Transport-Security: max-age=31536000` so browsers never use plain HTTP again.', 'max-age=31536000');
          const maxAge = Number(/max-age\s*=\s*"?(\d+)/i.exec(hsts)?.[1] ?? NaN);
          expectThat(maxAge >= 31536000, 'Strict-Transport-Security needs a max-age of at least one year (31536000 seconds).', {
            expected: 'Strict-Transport-Security: max-age=31536000',
            received: `Strict-Transport-Security: ${hsts}`,
            res: https,
          });
        },
      },
      {
        id: 'body-limit',
        title: 'Bodies over MAX_BODY_BYTES are 413 and stored nowhere, also when sent chunked; the limit itself is accepted',
        hint: 'Count the bytes while reading (do not trust Content-Length alone: chunked bodies have none), answer 413 as soon as the count passes MAX_BODY_BYTES.',
        timeoutMs: 20_000,
        async run(ctx) {
          const max = Number(ctx.env.MAX_BODY_BYTES);
          const { key } = await createKey(ctx, ['notes:read', 'notes:write']);
          const headers = withKey(key, { 'Content-Type': 'application/json' });
          const atLimit = noteOfSize(max, `fits-${ctx.random.string(6)}-`);
          const fits = await ctx.http.request('/api/notes', { method: 'POST', body: atLimit, headers });
          fits.expectStatus(201, `POST /api/notes with a body of exactly MAX_BODY_BYTES (${max}) bytes is within the limit and must be accepted (201).`);

          const overMarker = `over-${ctx.random.string(8)}`;
          const over = await ctx.http.request('/api/notes', { method: 'POST', body: noteOfSize(max + 1, overMarker), headers });
          over.expectStatus(413, `POST /api/notes with a body of ${max + 1} bytes (one over MAX_BODY_BYTES) must be refused with 413 Content Too Large.`);

          const chunkMarker = `chunked-${ctx.random.string(8)}`;
          const big = noteOfSize(max * 3, chunkMarker);
          const chunks: string[] = [];
          for (let i = 0; i < big.length; i += 1024) chunks.push(big.slice(i, i + 1024));
          const chunked = await sendChunked(ctx.http, '/api/notes', { headers, chunks, signal: ctx.signal, timeoutMs: 8000 });
          chunked.expectStatus(413, `POST /api/notes with a ${big.length}-byte body sent with \`Transfer-Encoding: chunked\` (no Content-Length) must be refused with 413: count the bytes you read.`);

          const texts = await noteTexts(ctx, key);
          for (const marker of [overMarker, chunkMarker]) {
            expectThat(!texts.some((t) => typeof t === 'string' && t.startsWith(marker)), 'A body over the limit was refused, yet the note was stored.', { expected: `no note starting with "${marker}"` });
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
