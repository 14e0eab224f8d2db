import { defineLab, expectEqual, expectJson, expectThat, headerTokens, mediaType } from '../../grader/index.ts';

export default defineLab(
  {
    id: 'http-basics',
    title: 'HTTP basics: your first server',
    track: 'foundations',
    summary: 'A first HTTP server: health check, a static page, query parameters, a JSON echo, and the right status codes.',
    difficulty: 'beginner',
    estimatedMinutes: 30,
    questions: [31, 32, 35, 36, 37, 38, 39, 43, 47],
    checks: [
      {
        id: 'health',
        title: 'GET /health answers 200 with JSON {"status":"ok"}',
        hint: 'Route GET /health to a handler that sets `Content-Type: application/json` and sends {"status":"ok"}.',
        async run({ http }) {
          const res = await http.get('/health');
          const body = expectJson(res, 200);
          expectEqual(body, { status: 'ok' }, 'GET /health must answer exactly {"status":"ok"}.', res);
        },
      },
      {
        id: 'home-page',
        title: 'GET / serves an HTML page',
        hint: 'Answer GET / with `Content-Type: text/html` and an HTML document (it must contain an <h1>).',
        async run({ http }) {
          const res = await http.get('/', { headers: { Accept: 'text/html' } });
          res.expectStatus(200);
          res.expectHeader('content-type', (v) => mediaType(v) === 'text/html', 'The home page must be sent as `Content-Type: text/html`.', 'text/html (e.g. text/html; charset=utf-8)');
          expectThat(/<h1[\s>]/i.test(res.text), 'The page must contain an <h1> heading.', { expected: 'an HTML body with <h1>...</h1>', res });
        },
      },
      {
        id: 'greet-query',
        title: 'GET /api/greet?name=... reads the query parameter',
        hint: 'Parse the query string with a URL parser (it decodes %XX and +), then answer {"message":"Hello, <name>!"}.',
        async run({ http, random }) {
          const first = random.word();
          const name = `${first[0].toUpperCase()}${first.slice(1)} ${random.pick(['Müller', 'O\'Neil', 'Zoë', 'Ngũgĩ', 'Ågren'])}`;
          // Both spellings of a space in a query string: %20 and + (form encoding, what browsers send).
          for (const query of [encodeURIComponent(name), encodeURIComponent(name).replace(/%20/g, '+')]) {
            const res = await http.get(`/api/greet?name=${query}&x=${random.int(1, 99)}`);
            const body = expectJson(res, 200);
            expectEqual(body, { message: `Hello, ${name}!` }, `The greeting must use the decoded \`name\` query parameter (name=${query} is ${JSON.stringify(name)}: %XX sequences are UTF-8 bytes and + is a space).`, res);
          }
        },
      },
      {
        id: 'greet-missing-name',
        title: 'GET /api/greet without a name is a 400',
        hint: 'A request the client got wrong is a 4xx: answer 400 with a JSON error when `name` is missing or empty.',
        async run({ http }) {
          for (const path of ['/api/greet', '/api/greet?name=']) {
            const res = await http.get(path);
            const body = expectJson(res, 400, `GET ${path} must be rejected with 400 (the client forgot the name).`);
            expectThat(typeof body?.error === 'string', 'The 400 body must be a JSON object with an `error` string.', { expected: '{"error": "..."}', res });
          }
        },
      },
      {
        id: 'echo-json',
        title: 'POST /api/echo returns the JSON it was sent',
        hint: 'Read the whole request body, JSON.parse it, and send it back with `Content-Type: application/json`.',
        async run({ http, random }) {
          const payload = {
            id: random.int(1, 1_000_000),
            name: random.word(),
            tags: [random.word(), random.word()],
            nested: { ok: random.bool(), score: random.int(0, 100) / 10, nothing: null },
            text: `line one\nline "two" ${random.string(6)} ✓`,
          };
          const res = await http.post('/api/echo', payload);
          const body = expectJson(res, 200);
          expectEqual(body, payload, 'POST /api/echo must answer with exactly the JSON it received.', res);
        },
      },
      {
        id: 'not-found-json',
        title: 'Unknown routes are 404 with a JSON body',
        hint: 'Add a catch-all that answers 404 with `Content-Type: application/json` and {"error": "..."}.',
        async run({ http, random }) {
          const path = `/${random.word()}/${random.string(8)}`;
          const res = await http.get(path);
          const body = expectJson(res, 404, `GET ${path} does not exist, so it must be a 404.`);
          expectThat(typeof body?.error === 'string', 'The 404 body must be a JSON object with an `error` string.', { expected: '{"error": "..."}', res });
        },
      },
      {
        id: 'method-not-allowed',
        title: 'A wrong method on a known route is 405 with Allow',
        hint: 'When the path exists but the method does not, answer 405 and list the methods that work in an `Allow` header, e.g. `Allow: GET, HEAD`.',
        async run({ http }) {
          const cases = [
            { method: 'DELETE', path: '/health', allow: 'GET' },
            { method: 'POST', path: '/health', allow: 'GET' },
            { method: 'GET', path: '/api/echo', allow: 'POST' },
          ];
          for (const c of cases) {
            const res = await http.request(c.path, { method: c.method });
            res.expectStatus(405, `${c.method} ${c.path}: the route exists but not for ${c.method}, so the answer is 405 Method Not Allowed.`);
            const allow = headerTokens(res.expectHeader('allow', undefined, 'A 405 must carry an `Allow` header listing the methods the route supports.'));
            expectThat(allow.includes(c.allow) && !allow.includes(c.method), `The Allow header of ${c.path} must list ${c.allow} and not ${c.method}.`, {
              expected: `Allow: ${c.allow}${c.allow === 'GET' ? ' (HEAD may be listed too)' : ''}`,
              received: `Allow: ${res.header('allow')}`,
              res,
            });
          }
        },
      },
      {
        id: 'malformed-json',
        title: 'Malformed JSON is a 400, never a 500',
        hint: 'Wrap JSON.parse in try/catch and answer 400: a broken body is the client\'s mistake, not a server error.',
        async run({ http, random }) {
          const bodies = [`{"name": "${random.word()}",`, "{'single': 'quotes'}", 'not json at all'];
          for (const body of bodies) {
            const res = await http.request('/api/echo', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
            expectJson(res, 400, 'A body that is not valid JSON must be rejected with 400 Bad Request (and a JSON error).');
          }
          const after = await http.get('/health');
          after.expectStatus(200, 'The server must keep answering after a malformed request.');
        },
      },
      {
        id: 'unsupported-media-type',
        title: 'A non-JSON body is a 415',
        hint: 'Check the request `Content-Type` before parsing: anything other than application/json gets 415 Unsupported Media Type.',
        async run({ http }) {
          for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
            const body = type === 'text/plain' ? '{"looks":"like json"}' : 'a=1&b=2';
            const res = await http.request('/api/echo', { method: 'POST', body, headers: { 'Content-Type': type } });
            expectJson(res, 415, `POST /api/echo with Content-Type: ${type} must be refused with 415 Unsupported Media Type.`);
          }
          const ok = await http.request('/api/echo', { method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json; charset=utf-8' } });
          expectJson(ok, 200, '`application/json; charset=utf-8` is JSON too and must be accepted.');
        },
      },
    ],
  },
  import.meta.dirname,
);
