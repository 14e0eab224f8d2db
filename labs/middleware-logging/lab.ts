import { defineLab, expectEqual, expectJson, expectThat, type CheckContext, type HttpResponse } from '../../grader/index.ts';

// The access log contract is about lines that parse as JSON objects: `npm start` prints banner lines of
// its own (`> start`, `> tsx src/server.ts`), and a server may print other text; those are ignored.
type LogEntry = Record<string, unknown>;

function parseLine(line: string): LogEntry | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(t);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

function logEntries(ctx: CheckContext): LogEntry[] {
  return ctx.server.output().map(parseLine).filter((e): e is LogEntry => e !== undefined);
}

function linesFor(ctx: CheckContext, id: string): LogEntry[] {
  return logEntries(ctx).filter((e) => e.request_id === id);
}

function recentOutput(ctx: CheckContext, n = 8): string {
  const out = ctx.server.output();
  return out.length ? `your server's last lines:\n${out.slice(-n).join('\n')}` : '(your server printed nothing)';
}

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(res: HttpResponse, what: string): string {
  return res.expectHeader('x-request-id', (v) => v.trim() !== '', `The response to ${what} must carry an \`X-Request-Id\` header.`, 'a non-empty request id, e.g. 3f2c9a1e-...');
}

/** Waits for the access log line of request `id` (JSON with that request_id), or fails saying what was printed. */
async function waitForEntry(ctx: CheckContext, id: string, what: string): Promise<LogEntry> {
  const line = await ctx.server.waitForOutput((l) => parseLine(l)?.request_id === id, 3000, true);
  const entry = line === undefined ? undefined : parseLine(line);
  if (!entry) {
    ctx.fail({
      message: `No access log line for ${what}: within 3 s your server printed no JSON line whose "request_id" is "${id}".`,
      expected: `one line on stdout like {"method":"GET","path":"/api/counter","status":200,"duration_ms":1.2,"request_id":"${id}"}`,
      received: recentOutput(ctx),
    });
  }
  return entry!;
}

/**
 * Every line for requests sent so far is out once the log line of a later request is: a sentinel request
 * whose own line we wait for. Returns its id.
 */
async function flushLog(ctx: CheckContext): Promise<void> {
  const id = `sentinel-${ctx.random.string(12)}`;
  await ctx.http.get('/health', { headers: { 'X-Request-Id': id } });
  await waitForEntry(ctx, id, `GET /health with X-Request-Id: ${id}`);
}

export default defineLab(
  {
    id: 'middleware-logging',
    title: 'Middleware: request ids, access logs and guards',
    track: 'foundations',
    summary: 'Wrap every request in middleware: a request id, one structured JSON access log line with timing (and no secrets), and an auth guard that rejects before the handler runs.',
    difficulty: 'intermediate',
    estimatedMinutes: 45,
    questions: [12, 49],
    env: {
      ADMIN_TOKEN: {
        description: 'The bearer token that unlocks /api/admin/... (a secret: it must never be logged).',
        value: (r) => `adm_${r.string(28)}`,
      },
    },
    checks: [
      {
        id: 'request-id-generated',
        title: 'Every response carries a new X-Request-Id',
        hint: 'In a first middleware, make an id (e.g. crypto.randomUUID()) and set it as the `X-Request-Id` response header before calling next().',
        async run({ http, random }) {
          const seen = new Map<string, string>();
          for (const path of ['/health', '/api/counter', `/${random.word()}`, '/api/counter']) {
            const res = await http.get(path);
            const id = requestId(res, `GET ${path}`);
            expectThat(VALID_ID.test(id), 'A generated request id must be 1 to 128 characters from A-Z a-z 0-9 . _ : - (a UUID is fine), so it is safe to log.', {
              expected: 'X-Request-Id: e.g. 0b6e2c1e-7f35-4f0a-9d0e-2b1c4c0f3a11',
              received: `X-Request-Id: ${id}`,
              res,
            });
            expectThat(!seen.has(id), `Each request must get its own id, but GET ${path} got the same id as ${seen.get(id)}.`, { expected: 'a new id per request', received: `X-Request-Id: ${id} (again)`, res });
            seen.set(id, `GET ${path}`);
          }
        },
      },
      {
        id: 'request-id-propagated',
        title: 'A valid incoming X-Request-Id is reused; an invalid one is replaced',
        hint: 'If the request has an X-Request-Id of 1-128 characters from A-Z a-z 0-9 . _ : -, use it; otherwise (too long, spaces, quotes, <...>) generate a new one.',
        async run({ http, random }) {
          const incoming = `${random.word()}-${random.string(10)}.${random.int(1, 9)}:${random.string(4)}`;
          const res = await http.get('/api/counter', { headers: { 'X-Request-Id': incoming } });
          expectEqual(requestId(res, 'a request with its own X-Request-Id'), incoming, 'A valid incoming `X-Request-Id` must be reused unchanged (so one id follows a request across services).', res);
          for (const bad of [`${random.word()} "quoted" <script>${random.string(4)}</script>`, random.string(129), '']) {
            const r = await http.get('/api/counter', { headers: { 'X-Request-Id': bad } });
            const id = r.header('x-request-id') ?? '';
            expectThat(id !== bad && VALID_ID.test(id), `An invalid incoming X-Request-Id (${bad === '' ? 'empty' : bad.length > 100 ? `${bad.length} characters` : JSON.stringify(bad)}) must be replaced by a generated one: never copy untrusted text into your logs.`, {
              expected: 'X-Request-Id: a freshly generated id',
              received: `X-Request-Id: ${r.header('x-request-id') ?? '(absent)'}`,
              res: r,
            });
          }
        },
      },
      {
        id: 'access-log-line',
        title: 'A request produces a JSON access log line with method, path, status, duration_ms and request_id',
        hint: 'In a logging middleware, note the start time, and when the response is finished print JSON.stringify({method, path, status, duration_ms, request_id}) on one line of stdout.',
        async run(ctx) {
          const res = await ctx.http.get('/api/counter');
          expectJson(res, 200);
          const id = requestId(res, 'GET /api/counter');
          // The access line is the one with a status; any other JSON line with this id is reported as incomplete.
          const complete = await ctx.server.waitForOutput((l) => { const e = parseLine(l); return e?.request_id === id && 'status' in e; }, 3000, true);
          const entry = complete !== undefined ? parseLine(complete)! : (linesFor(ctx, id)[0] ?? (await waitForEntry(ctx, id, 'GET /api/counter')));
          const problems: string[] = [];
          if (entry.method !== 'GET') problems.push(`"method" must be "GET", got ${JSON.stringify(entry.method)}`);
          if (entry.path !== '/api/counter') problems.push(`"path" must be "/api/counter", got ${JSON.stringify(entry.path)}`);
          if (entry.status !== 200) problems.push(`"status" must be the number 200, got ${JSON.stringify(entry.status)}`);
          if (typeof entry.duration_ms !== 'number' || !Number.isFinite(entry.duration_ms) || entry.duration_ms < 0) {
            problems.push(`"duration_ms" must be a number of milliseconds >= 0, got ${JSON.stringify(entry.duration_ms)}`);
          }
          expectThat(problems.length === 0, `The access log line of GET /api/counter is incomplete: ${problems.join('; ')}.`, {
            expected: `{"method":"GET","path":"/api/counter","status":200,"duration_ms":<number>,"request_id":"${id}"} (other fields are fine)`,
            received: JSON.stringify(entry),
          });
        },
      },
      {
        id: 'one-line-per-request',
        title: 'Exactly one access log line per request, also for 404s and rejected requests',
        hint: 'Log once, when the response is finished (e.g. on the response\'s "finish"/"close" event), from a middleware that wraps everything that can answer, the guard included.',
        async run(ctx) {
          const { http, random } = ctx;
          const n = random.int(5, 8);
          const kinds = [
            { method: 'GET', path: '/health' },
            { method: 'GET', path: '/api/counter' },
            { method: 'GET', path: `/${random.word()}/${random.string(6)}` },
            { method: 'POST', path: '/api/admin/counter/increment' },
            { method: 'GET', path: '/api/slow?ms=20' },
          ];
          const sent = Array.from({ length: n }, (_, i) => ({ ...kinds[i % kinds.length], id: `req-${i}-${random.string(10)}` }));
          const results = await ctx.burst(n, (i) => http.request(sent[i].path, { method: sent[i].method, headers: { 'X-Request-Id': sent[i].id } }));
          for (const r of results) if (r.status === 'rejected') throw r.reason;
          await flushLog(ctx);
          for (const s of sent) {
            const lines = linesFor(ctx, s.id);
            expectThat(lines.length === 1, `${s.method} ${s.path} (X-Request-Id: ${s.id}) produced ${lines.length} access log lines; every request must produce exactly one.`, {
              expected: `1 JSON line with "request_id": "${s.id}"`,
              received: lines.length ? lines.map((l) => JSON.stringify(l)).join('\n') : recentOutput(ctx, 12),
            });
          }
        },
      },
      {
        id: 'status-and-duration',
        title: 'The log line has the status that was sent and the time the request took',
        timeoutMs: 15_000,
        hint: 'Read the status and the clock when the response finishes, not when the request arrives: duration_ms = now - start, in milliseconds; path without the query string.',
        async run(ctx) {
          const { http, random } = ctx;
          const ms = random.int(300, 600);
          const cases = [
            { method: 'GET', path: `/api/slow?ms=${ms}`, logged: '/api/slow' },
            { method: 'GET', path: `/${random.word()}-${random.string(5)}`, logged: undefined },
            { method: 'POST', path: '/api/admin/counter/increment', logged: '/api/admin/counter/increment' },
          ];
          const seen: { c: (typeof cases)[number]; id: string; res: HttpResponse; elapsed: number }[] = [];
          for (const c of cases) {
            const id = `t-${random.string(12)}`;
            const started = performance.now();
            const res = await http.request(c.path, { method: c.method, headers: { 'X-Request-Id': id } });
            seen.push({ c, id, res, elapsed: performance.now() - started });
          }
          await flushLog(ctx);
          for (const { c, id, res, elapsed } of seen) {
            const lines = linesFor(ctx, id);
            expectThat(lines.length > 0, `No access log line for ${c.method} ${c.path} (X-Request-Id: ${id}).`, { expected: `a JSON line with "request_id": "${id}"`, received: recentOutput(ctx) });
            const entry = lines[lines.length - 1];
            const path = c.logged ?? c.path;
            expectThat(entry.method === c.method && entry.path === path && entry.status === res.status, `The log line of ${c.method} ${c.path} must have the method, the path (without the query string) and the status that was actually sent (${res.status}).`, {
              expected: `"method":"${c.method}","path":"${path}","status":${res.status}`,
              received: JSON.stringify(entry),
            });
            if (c.logged === '/api/slow') {
              const d = entry.duration_ms;
              const [low, high] = [Math.floor(ms * 0.95), Math.ceil(elapsed + 1000)];
              const ok = typeof d === 'number' && d >= low && d <= high;
              expectThat(ok, `GET /api/slow?ms=${ms} waits ${ms} ms and took ${Math.round(elapsed)} ms as seen by the grader, so its duration_ms must be about that, in milliseconds (accepted: ${low} to ${high}).`, {
                expected: `"duration_ms": about ${ms}`,
                received: JSON.stringify(entry),
              });
            }
          }
        },
      },
      {
        id: 'secrets-redacted',
        title: 'Authorization and cookie values never appear in the output',
        hint: 'Log chosen fields only; if you log headers, replace Authorization and Cookie (and Set-Cookie) values with "[REDACTED]".',
        async run(ctx) {
          const { http, random, env } = ctx;
          const bearer = `tok_${random.string(28)}`;
          const cookie = random.string(28);
          const admin = env.ADMIN_TOKEN;
          const publicId = `s-${random.string(12)}`;
          const sends: { method: string; path: string; id: string; headers: Record<string, string> }[] = [
            { method: 'GET', path: '/api/counter', id: publicId, headers: { Authorization: `Bearer ${bearer}`, Cookie: `session=${cookie}; theme=dark` } },
            { method: 'POST', path: '/api/admin/counter/increment', id: `s-${random.string(12)}`, headers: { Authorization: `Bearer ${bearer}`, Cookie: `session=${cookie}` } },
            { method: 'POST', path: '/api/admin/counter/increment', id: `s-${random.string(12)}`, headers: { Authorization: `Bearer ${admin}` } },
            { method: 'GET', path: `/${random.word()}`, id: `s-${random.string(12)}`, headers: { Authorization: `Basic ${Buffer.from(`admin:${bearer}`).toString('base64')}` } },
          ];
          for (const s of sends) await http.request(s.path, { method: s.method, headers: { ...s.headers, 'X-Request-Id': s.id } });
          await waitForEntry(ctx, publicId, 'GET /api/counter');
          await flushLog(ctx);
          const secrets = [
            { name: 'the bearer token', value: bearer },
            { name: 'the session cookie', value: cookie },
            { name: 'ADMIN_TOKEN', value: admin },
            { name: 'the Basic credentials', value: Buffer.from(`admin:${bearer}`).toString('base64') },
          ];
          for (const line of ctx.server.output()) {
            for (const s of secrets) {
              // Any 10 characters in a row of the secret count: a "masked" value that keeps most of it leaks too.
              for (let i = 0; i + 10 <= s.value.length; i++) {
                const piece = s.value.slice(i, i + 10);
                if (line.includes(piece)) {
                  ctx.fail({
                    message: `Your server printed (part of) ${s.name} that the grader sent: logs are read by many people and kept for a long time, so credentials must never reach them.`,
                    expected: `no trace of "${s.value}"`,
                    received: line.length > 600 ? `${line.slice(0, 600)}...` : line,
                  });
                }
              }
            }
          }
        },
      },
      {
        id: 'guard-before-handler',
        title: 'The admin guard rejects with 401 before the handler runs (no side effect)',
        hint: 'Put the guard in front of the handler and return 401 (with `WWW-Authenticate: Bearer`) without calling next(): the handler must not run at all.',
        async run({ http, random, env }) {
          const read = async () => {
            const res = await http.get('/api/counter');
            const body = expectJson(res, 200);
            expectThat(Number.isInteger(body?.count), 'GET /api/counter must answer {"count": <integer>}.', { res });
            return body.count as number;
          };
          const before = await read();
          const attempts: { what: string; headers: Record<string, string> }[] = [
            { what: 'without Authorization', headers: {} },
            { what: 'with a wrong token', headers: { Authorization: `Bearer adm_${random.string(28)}` } },
            { what: 'with the token in another scheme', headers: { Authorization: `Basic ${Buffer.from(`admin:${env.ADMIN_TOKEN}`).toString('base64')}` } },
            // The classic guard bugs: a prefix compare (`token.startsWith(given)`), so an empty or partial token
            // gets in; or a compare that accepts anything starting with the token.
            { what: 'with `Bearer ` and nothing after it', headers: { Authorization: 'Bearer ' } },
            { what: 'with only the first part of the token', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN.slice(0, random.int(1, env.ADMIN_TOKEN.length - 1))}` } },
            { what: 'with the token followed by extra characters', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}${random.string(3)}` } },
          ];
          for (const a of attempts) {
            const res = await http.request('/api/admin/counter/increment', { method: 'POST', headers: a.headers });
            res.expectStatus(401, `POST /api/admin/counter/increment ${a.what} must be rejected with 401 Unauthorized.`);
            res.expectHeader('www-authenticate', /^\s*Bearer\b/i, 'A 401 must carry `WWW-Authenticate: Bearer` (it tells the client which credentials to send).', 'Bearer (e.g. Bearer realm="api")');
            const after = await read();
            expectThat(after === before, `POST /api/admin/counter/increment ${a.what} was answered 401, but the counter moved from ${before} to ${after}: the handler ran before (or despite) the guard.`, {
              expected: `GET /api/counter -> {"count": ${before}}`,
              received: `GET /api/counter -> {"count": ${after}}`,
              res,
            });
          }
          const ok = await http.request('/api/admin/counter/increment', { method: 'POST', headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
          const body = expectJson(ok, 200, 'With `Authorization: Bearer <ADMIN_TOKEN>` the increment must succeed (200).');
          expectEqual(body, { count: before + 1 }, 'An authorised increment must answer the new count.', ok);
          expectEqual(await read(), before + 1, 'After an authorised increment GET /api/counter must show the new count.');
        },
      },
    ],
  },
  import.meta.dirname,
);
