import { defineLab, expectEqual, expectJson, expectProblem, expectThat, headerTokens, type HttpResponse, type Problem } from '../../grader/index.ts';

// What a 500 must never show: the internals of the failure.
const LEAKS: { what: string; pattern: RegExp }[] = [
  { what: 'SQL from the failed query', pattern: /\b(?:SELECT|UPDATE|INSERT|DELETE)\b[\s\S]{0,200}?\b(?:FROM|SET|INTO|WHERE|VALUES)\b/ },
  { what: 'a stack trace', pattern: /\bat\s+(?:async\s+)?(?:[^\s()]+\s+)?\(?(?:file:\/\/|node:|\/|[A-Za-z]:\\)[^\s()]*:\d+:\d+|Traceback \(most recent call last\)|File "[^"]+", line \d+|\.(?:java|kt|scala):\d+\)|goroutine \d+ \[/ },
  { what: 'a file path', pattern: /file:\/\/|node:internal|(?:^|[\s"'(=])\/(?:[\w.@-]+\/)+[\w.@-]+\.(?:[cm]?[jt]sx?|py|rb|go|java|php|cs)\b|\b[A-Za-z]:\\/ },
];

/** The first internal detail found in the response (body and header values), if any. */
function findLeak(res: HttpResponse, secrets: string[]): string | undefined {
  const texts = [res.text, ...Object.entries(res.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)];
  for (const text of texts) {
    for (const secret of secrets) if (secret && text.includes(secret)) return `the error's own message (it contains \`${secret}\`)`;
    for (const leak of LEAKS) {
      const m = leak.pattern.exec(text);
      if (m) return `${leak.what} (\`${m[0].trim().slice(0, 80)}\`)`;
    }
  }
  return undefined;
}

function expectNoLeak(res: HttpResponse, secrets: string[]): void {
  const leak = findLeak(res, secrets);
  expectThat(!leak, `The error response reveals ${leak}: a 500 must say only that something went wrong (internals belong in your log).`, {
    expected: 'a generic problem detail, e.g. "An unexpected error occurred"',
    res,
  });
}

async function expectStillUp(http: { get(path: string): Promise<HttpResponse> }, after: string): Promise<void> {
  const res = await http.get('/health');
  const body = expectJson(res, 200, `After ${after}, GET /health must still answer 200: one failed request must not take the server down.`);
  expectEqual(body, { status: 'ok' }, 'GET /health must answer {"status":"ok"}.', res);
}

function pointers(problem: Problem): string[] {
  const errors = problem.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .map((e) => (typeof e?.pointer === 'string' ? e.pointer.replace(/^#/, '') : undefined))
    .filter((p): p is string => p !== undefined)
    .sort();
}

export default defineLab(
  {
    id: 'error-handling',
    title: 'Error handling: one central error handler',
    track: 'foundations',
    summary: 'Turn every failure (bad input, unknown routes, thrown and rejected errors, a slow dependency) into the right problem+json response without leaking internals or crashing.',
    difficulty: 'beginner',
    estimatedMinutes: 45,
    questions: [30, 37, 50],
    env: {
      DEPENDENCY_URL: {
        description: 'Base URL of the inventory service that GET /fault/dependency calls (the grader hosts one and restarts your server with its URL).',
        value: 'http://127.0.0.1:9',
      },
      DEPENDENCY_TIMEOUT_MS: {
        description: 'How long GET /fault/dependency waits for the inventory service before giving up with 504.',
        value: (r) => String(r.int(300, 700)),
      },
    },
    checks: [
      {
        id: 'not-found-problem',
        title: 'Unknown routes and unknown orders are 404 problem details',
        hint: 'Answer 404 with `Content-Type: application/problem+json` and {"type":"about:blank","title":"Not Found","status":404,"detail":"..."}.',
        async run({ http, random }) {
          const path = `/${random.word()}/${random.string(8)}`;
          expectProblem(await http.get(path), 404, `GET ${path} does not exist, so the answer is 404 (as problem details).`);
          const id = random.string(12);
          expectProblem(await http.get(`/orders/${id}`), 404, `There is no order ${id}, so GET /orders/${id} is a 404 (as problem details).`);
        },
      },
      {
        id: 'method-not-allowed',
        title: 'A wrong method on a known route is 405 with Allow',
        hint: 'When the path exists but not for this method, answer 405 problem details and list the supported methods in an `Allow` header.',
        async run({ http }) {
          for (const c of [
            { method: 'GET', path: '/orders', allow: 'POST' },
            { method: 'DELETE', path: '/health', allow: 'GET' },
          ]) {
            const res = await http.request(c.path, { method: c.method });
            expectProblem(res, 405, `${c.method} ${c.path}: the route exists but not for ${c.method}, so the answer is 405 Method Not Allowed.`);
            const allow = headerTokens(res.expectHeader('allow', undefined, 'A 405 must carry an `Allow` header listing the methods the route supports.'));
            expectThat(allow.includes(c.allow) && !allow.includes(c.method), `The Allow header of ${c.path} must list ${c.allow} and not ${c.method}.`, {
              expected: `Allow: ${c.allow}`,
              received: `Allow: ${res.header('allow')}`,
              res,
            });
          }
        },
      },
      {
        id: 'malformed-json',
        title: 'Malformed JSON is a 400 problem, never a 500',
        hint: 'Catch the JSON parse error and turn it into a 400: a broken body is the client\'s mistake, not a server error.',
        async run({ http, random }) {
          for (const body of [`{"item": "${random.word()}", "quantity": `, "{'item': 'single quotes'}", `${random.word()} is not json`]) {
            const res = await http.request('/orders', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
            expectProblem(res, 400, 'A body that is not valid JSON must be rejected with 400 Bad Request (as problem details).');
          }
          await expectStillUp(http, 'malformed bodies');
        },
      },
      {
        id: 'unsupported-media-type',
        title: 'A non-JSON body is a 415 problem',
        hint: 'Check `Content-Type` before parsing: anything but application/json (parameters like charset allowed) is 415 Unsupported Media Type.',
        async run({ http, random }) {
          const order = { item: random.word(), quantity: random.int(1, 100) };
          for (const [type, body] of [
            ['text/plain', JSON.stringify(order)],
            ['application/x-www-form-urlencoded', `item=${order.item}&quantity=${order.quantity}`],
          ]) {
            const res = await http.request('/orders', { method: 'POST', body, headers: { 'Content-Type': type } });
            expectProblem(res, 415, `POST /orders with Content-Type: ${type} must be refused with 415 Unsupported Media Type.`);
          }
          const ok = await http.request('/orders', { method: 'POST', body: JSON.stringify(order), headers: { 'Content-Type': 'application/json; charset=utf-8' } });
          const created = expectJson(ok, 201, '`application/json; charset=utf-8` is JSON too: a valid order must be created (201).');
          expectEqual({ item: created?.item, quantity: created?.quantity }, order, 'The created order must hold the item and quantity that were sent.', ok);
        },
      },
      {
        id: 'validation',
        title: 'Invalid orders are 422 problems naming the fields; odd JSON never causes a 500',
        hint: 'Validate before using the body: a JSON object with `item` (string) and `quantity` (integer 1-100); list each bad field in `errors` as {"pointer":"#/field","detail":"..."}; `null` or an array is a 400/422, not a crash.',
        async run({ http, random }) {
          const order = { item: `${random.word()} ${random.word()}`, quantity: random.int(1, 100) };
          const res = await http.post('/orders', order);
          const created = expectJson(res, 201, 'A valid order must be created with 201.');
          expectThat(typeof created?.id === 'string' && created.id !== '', 'The created order must carry a string `id`.', { expected: '{"id": "...", "item": ..., "quantity": ...}', res });
          const again = await http.get(`/orders/${encodeURIComponent(created.id)}`);
          expectEqual(expectJson(again, 200), { id: created.id, ...order }, `GET /orders/${created.id} must return the order that was created.`, again);

          const invalid: { body: unknown; fields: string[] }[] = random.shuffle([
            { body: { item: '', quantity: 0 }, fields: ['/item', '/quantity'] },
            { body: { quantity: `${random.int(2, 9)}` }, fields: ['/item', '/quantity'] },
            { body: { item: random.word(), quantity: random.int(101, 1000) }, fields: ['/quantity'] },
            { body: { item: random.int(1, 99), quantity: random.int(1, 100) }, fields: ['/item'] },
            { body: { item: random.word(), quantity: random.int(1, 99) + 0.5 }, fields: ['/quantity'] },
            // What naive validation lets through: a boolean (Python's bool is an int, `true >= 1` in JS),
            // null, a numeric string, one character over the length limit.
            { body: { item: random.word(), quantity: true }, fields: ['/quantity'] },
            { body: { item: random.word(), quantity: random.pick([false, null, '1', [1]]) }, fields: ['/quantity'] },
            { body: { item: 'x'.repeat(101), quantity: random.int(1, 100) }, fields: ['/item'] },
          ]);
          // The edges of the rules are valid: 100 characters, quantity 1 and 100, any Unicode.
          for (const edge of [{ item: 'y'.repeat(100), quantity: 100 }, { item: random.pick(['Zoë 🚀', '日本語テキスト', 'naïve café']), quantity: 1 }]) {
            const ok = await http.post('/orders', edge);
            const made = expectJson(ok, 201, `A valid order at the edge of the rules (${JSON.stringify(edge).slice(0, 60)}) must be created with 201: \`item\` may have up to 100 characters, \`quantity\` is 1 to 100 inclusive.`);
            expectEqual({ item: made?.item, quantity: made?.quantity }, edge, 'The created order must hold the item and quantity exactly as sent.', ok);
          }
          for (const c of invalid) {
            const bad = await http.post('/orders', c.body);
            const problem = expectProblem(bad, 422, 'Well-formed JSON that breaks the rules is 422 Unprocessable Content (as problem details).');
            expectEqual(pointers(problem), c.fields, 'The problem must list each invalid field in `errors`, e.g. "errors": [{"pointer": "#/quantity", "detail": "..."}].', bad);
          }
          for (const body of ['null', '[]', `"${random.word()}"`]) {
            const odd = await http.request('/orders', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
            expectProblem(odd, [400, 422], `The JSON value ${body} is not an order object: reject it with 400 or 422, never a 500.`);
          }
        },
      },
      {
        id: 'sync-error',
        title: 'A thrown error is a 500 problem that reveals nothing, and the server keeps running',
        hint: 'Wrap every handler in one try/catch (or your framework\'s error middleware): log the error, answer 500 with a generic detail, never err.message or err.stack.',
        async run({ http, random }) {
          for (let i = 0; i < 2; i++) {
            const detail = `${random.word()}-${random.string(12)}`;
            const res = await http.get(`/fault/sync?detail=${detail}`);
            expectProblem(res, 500, 'GET /fault/sync throws an Error: the central error handler must turn it into 500 problem details.');
            expectNoLeak(res, [detail, 'api_key']);
            await expectStillUp(http, 'a thrown error');
          }
        },
      },
      {
        id: 'async-error',
        title: 'A rejected promise is a 500 problem that reveals nothing, and the server keeps running',
        hint: 'Await every promise inside the try (an un-awaited rejection escapes your handler and, in Node, kills the process); answer 500 with a generic detail.',
        async run({ http, random }) {
          for (let i = 0; i < 2; i++) {
            const detail = `${random.word()}-${random.string(12)}`;
            const res = await http.get(`/fault/async?detail=${detail}`);
            expectProblem(res, 500, 'GET /fault/async awaits a promise that rejects: the central error handler must turn it into 500 problem details.');
            expectNoLeak(res, [detail, 'api_key']);
            await expectStillUp(http, 'a rejected promise');
          }
        },
      },
      {
        id: 'dependency-timeout',
        title: 'A dependency that does not answer is a 504 problem within DEPENDENCY_TIMEOUT_MS',
        timeoutMs: 30_000,
        hint: 'Give the outgoing call a deadline (e.g. fetch(url, { signal: AbortSignal.timeout(DEPENDENCY_TIMEOUT_MS) })) and map the timeout to 504 Gateway Timeout.',
        async run({ http, random, env, host, server, note }) {
          const timeoutMs = Number(env.DEPENDENCY_TIMEOUT_MS);
          const stock = { sku: `${random.word()}-${random.int(100, 999)}`, in_stock: random.int(0, 500) };
          let calls = 0;
          const dependency = await host.http((req, res) => {
            if (req.method !== 'GET' || req.path.split('?')[0] !== '/stock') {
              res.writeHead(404, { 'content-type': 'text/plain' });
              return void res.end('the inventory service only answers GET /stock');
            }
            calls++;
            if (calls === 1) {
              res.writeHead(200, { 'content-type': 'application/json' });
              return void res.end(JSON.stringify(stock));
            }
            // From the second call on, the dependency hangs: it never answers.
          });
          note(`restarting your server with DEPENDENCY_URL=${dependency.url}`);
          await server.restart({ env: { DEPENDENCY_URL: dependency.url } });

          const ok = await http.get('/fault/dependency');
          const body = expectJson(ok, 200, `The inventory service answered at once with ${JSON.stringify(stock)}: GET /fault/dependency must answer 200 {"dependency": <its JSON>}.`);
          expectEqual(body, { dependency: stock }, 'GET /fault/dependency must pass the inventory service\'s JSON through as {"dependency": ...}.', ok);

          const budget = timeoutMs + 4000;
          const started = performance.now();
          const res = await http.get('/fault/dependency', { timeoutMs: budget }).catch((err) => {
            if (err?.details?.transport === 'timeout') {
              err.details.message = `The inventory service never answers and your server was still waiting after ${budget} ms: it must give up after DEPENDENCY_TIMEOUT_MS=${timeoutMs} ms.`;
            }
            throw err;
          });
          const elapsed = Math.round(performance.now() - started);
          expectProblem(res, 504, `The inventory service did not answer within DEPENDENCY_TIMEOUT_MS=${timeoutMs} ms: the answer is 504 Gateway Timeout (as problem details), after ${elapsed} ms here.`);
          expectNoLeak(res, [dependency.url, `:${dependency.port}`]);
          expectThat(dependency.requests.length >= 2, 'Your server must call the inventory service (GET {DEPENDENCY_URL}/stock) on every request.', {
            expected: 'a second call to /stock',
            received: `${dependency.requests.length} call(s)`,
          });
          await expectStillUp(http, 'a dependency timeout');
        },
      },
      {
        id: 'request-id',
        title: 'Every response has X-Request-Id, and error bodies carry the same id',
        hint: 'Make an id per request (e.g. crypto.randomUUID()) before routing, set it as `X-Request-Id`, and put it in every problem body as `request_id`.',
        async run({ http, random }) {
          const health = await http.get('/health');
          health.expectHeader('x-request-id', (v) => v.trim() !== '', 'Every response, also a success, must carry an `X-Request-Id` header.', 'a non-empty request id, e.g. 3f2c9a1e-...');
          const seen = new Set<string>();
          const cases: { what: string; send: () => Promise<HttpResponse>; status: number }[] = [
            { what: 'a 404', send: () => http.get(`/orders/${random.string(10)}`), status: 404 },
            { what: 'a 422', send: () => http.post('/orders', { item: '', quantity: -1 }), status: 422 },
            { what: 'a 500', send: () => http.get(`/fault/sync?detail=${random.string(10)}`), status: 500 },
            { what: 'another 500', send: () => http.get(`/fault/sync?detail=${random.string(10)}`), status: 500 },
          ];
          for (const c of cases) {
            const res = await c.send();
            const problem = expectProblem(res, c.status);
            const id = res.expectHeader('x-request-id', (v) => v.trim() !== '', `The response to ${c.what} must carry an \`X-Request-Id\` header.`, 'a non-empty request id, e.g. 3f2c9a1e-...');
            expectThat(problem.request_id === id, `The problem body of ${c.what} must carry the request id of its \`X-Request-Id\` header as \`request_id\`.`, {
              expected: `"request_id": ${JSON.stringify(id)}`,
              received: `"request_id": ${JSON.stringify(problem.request_id)}`,
              res,
            });
            expectThat(!seen.has(id), 'Each request must get its own id: two requests came back with the same `X-Request-Id`.', { expected: 'a new id per request', received: `X-Request-Id: ${id} (again)`, res });
            seen.add(id);
          }
        },
      },
      {
        id: 'errors-logged',
        title: 'The server logs each unexpected error with its request id',
        hint: 'In the error handler, log one line with the request id and the error (message and stack) to stdout or stderr before answering 500.',
        async run({ http, random, server }) {
          const detail = `${random.word()}-${random.string(12)}`;
          const res = await http.get(`/fault/sync?detail=${detail}`);
          expectProblem(res, 500);
          const id = res.header('x-request-id') ?? '';
          expectThat(id.trim() !== '', 'The 500 must carry an `X-Request-Id` header (the id the log line is found by).', { res });
          const line = await server.waitForOutput((l) => l.includes(id) && l.includes(detail), 3000, true);
          const output = server.output();
          expectThat(line !== undefined, 'The unexpected error must be logged by your server, on one line holding both the request id and the error message, so support can find it from the id the client quotes.', {
            expected: `a log line containing "${id}" and "${detail}"`,
            received: output.length ? `last lines of your server's output:\n${output.slice(-8).join('\n')}` : '(your server printed nothing)',
          });
        },
      },
    ],
  },
  import.meta.dirname,
);
