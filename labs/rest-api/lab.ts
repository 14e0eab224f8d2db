import {
  HARD,
  sized,
  defineLab,
  expectJson,
  expectProblem,
  expectThat,
  show,
  type HttpProbe,
  type HttpResponse,
  type Problem,
  type Random,
} from '../../grader/index.ts';

// --- helpers -----------------------------------------------------------------------------------------

interface Todo {
  id: string;
  title: string;
  completed: boolean;
}

const ID_RULE = /^[A-Za-z0-9_-]{16,}$/;

/** A title the learner cannot predict: random words, sometimes with non-ASCII and quotes. */
function randomTitle(random: Random): string {
  const words = [random.word(), random.word(3, 6), random.word()];
  const extra = random.pick(['', ' ✓', ' (urgent)', ' für Zoë', ' "quoted"', ' & co', ' 日本']);
  const title = `${words.join(' ')}${extra} #${random.int(1, 9999)}`;
  return title[0].toUpperCase() + title.slice(1);
}

/** A well-formed id that no server has handed out (UUID-shaped, random). */
function randomId(random: Random): string {
  const hex = (n: number) => random.string(n, '0123456789abcdef');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

/** A problem (RFC 9457) with the lab's required members: `title`, `status` (checked by expectProblem), `detail`. */
function expectLabProblem(res: HttpResponse, status: number, why: string): Problem {
  const problem = expectProblem(res, status, why);
  for (const member of ['title', 'detail'] as const) {
    expectThat(typeof problem[member] === 'string' && problem[member] !== '', `The problem object must have a non-empty \`${member}\` string (the contract asks for type, title, status and detail).`, {
      expected: `{"type": "about:blank", "title": "...", "status": ${status}, "detail": "..."}`,
      res,
    });
  }
  return problem;
}

/** The body of a todo response: an object whose id/title/completed have the right types. */
function expectTodo(res: HttpResponse, status: number, why: string): Todo {
  const body = expectJson(res, status, why);
  expectThat(
    typeof body === 'object' && body !== null && !Array.isArray(body) && typeof body.id === 'string' && typeof body.title === 'string' && typeof body.completed === 'boolean',
    'A todo must be a JSON object with a string `id`, a string `title` and a boolean `completed`.',
    { expected: '{"id": "...", "title": "...", "completed": false}', res },
  );
  return body as Todo;
}

function sameTodo(actual: Todo, expected: Todo, message: string, res: HttpResponse): void {
  const pick = (t: Todo) => ({ id: t.id, title: t.title, completed: t.completed });
  expectThat(actual.id === expected.id && actual.title === expected.title && actual.completed === expected.completed, message, {
    expected: show(pick(expected)),
    received: show(pick(actual)),
    res,
  });
}

async function create(http: HttpProbe, body: Record<string, unknown>): Promise<{ todo: Todo; res: HttpResponse }> {
  const res = await http.post('/todos', body);
  const todo = expectTodo(res, 201, 'POST /todos with a valid todo must answer 201 Created with the new todo as JSON.');
  return { todo, res };
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'rest-api',
    title: 'REST API: CRUD for todos',
    track: 'foundations',
    summary: 'A resource-oriented JSON API: create, list, read, replace, update and delete todos with the right methods, status codes, Location header and problem+json errors.',
    difficulty: 'beginner',
    estimatedMinutes: 60,
    questions: [11, 34, 35, 41, 46, 48],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check.
    malformedRequests: { paths: ['/todos/'] },
    checks: [
      {
        id: 'create',
        title: 'POST /todos creates a todo: 201, Location, the todo with its new id',
        hint: 'Answer 201 with the created todo as JSON and a `Location: /todos/<id>` header; `completed` defaults to false.',
        async run({ http, random }) {
          const title = randomTitle(random);
          const completed = random.bool();
          const { todo, res } = await create(http, { title, completed });
          expectThat(todo.title === title && todo.completed === completed, 'The created todo must have exactly the `title` and `completed` that were sent.', {
            expected: show({ id: '(new id)', title, completed }),
            received: show(todo),
            res,
          });
          expectThat(todo.id.length > 0, 'The created todo needs a non-empty `id`.', { res });
          const location = res.expectHeader('location', undefined, 'A 201 Created must say where the new resource lives, in a `Location` header.');
          let path: string | undefined;
          try {
            path = new URL(location, http.baseUrl).pathname;
          } catch {
            path = undefined;
          }
          expectThat(path === `/todos/${todo.id}`, 'The `Location` header must point at the new todo: /todos/<its id>.', {
            expected: `Location: /todos/${todo.id}`,
            received: `Location: ${location}`,
            res,
          });

          const second = randomTitle(random);
          const { todo: other, res: res2 } = await create(http, { title: second });
          expectThat(other.completed === false && other.title === second, 'When `completed` is not sent, the new todo starts with `completed: false`.', {
            expected: show({ id: '(new id)', title: second, completed: false }),
            received: show(other),
            res: res2,
          });
          expectThat(other.id !== todo.id, 'Every new todo needs its own id: two POSTs returned the same one.', {
            expected: 'two different ids',
            received: `${todo.id} twice`,
            res: res2,
          });
        },
      },
      {
        id: 'read-one',
        title: 'GET /todos/{id} returns the todo',
        hint: 'Look the id from the path up in your store and answer 200 with that todo as JSON.',
        async run({ http, random }) {
          const made: Todo[] = [];
          for (let i = 0; i < 3; i++) made.push((await create(http, { title: randomTitle(random), completed: random.bool() })).todo);
          for (const todo of random.shuffle(made)) {
            const res = await http.get(`/todos/${todo.id}`);
            const got = expectTodo(res, 200, `GET /todos/${todo.id} must answer 200 with the todo created a moment ago.`);
            sameTodo(got, todo, `GET /todos/${todo.id} must return that todo, unchanged.`, res);
          }
        },
      },
      {
        id: 'list',
        title: 'GET /todos lists every todo, oldest first',
        hint: 'Answer GET /todos with a JSON array of all todos in the order they were created (a Map keeps insertion order).',
        async run({ http, random }) {
          const made: Todo[] = [];
          const n = random.int(2, 4);
          for (let i = 0; i < n; i++) made.push((await create(http, { title: randomTitle(random), completed: random.bool() })).todo);
          const res = await http.get('/todos');
          const body = expectJson(res, 200, 'GET /todos must answer 200 with a JSON array of todos.');
          expectThat(Array.isArray(body), 'GET /todos must answer with a JSON array (the todos themselves, not an object around them).', {
            expected: '[{"id": "...", "title": "...", "completed": false}, ...]',
            res,
          });
          const list = body as unknown[];
          const positions = made.map((todo) => list.findIndex((t) => typeof t === 'object' && t !== null && (t as Todo).id === todo.id));
          const missing = made.filter((_, i) => positions[i] < 0);
          expectThat(missing.length === 0, `GET /todos must include every todo: ${missing.length} of the ${n} just created ${missing.length === 1 ? 'is' : 'are'} missing.`, {
            expected: `an array containing ids ${made.map((t) => t.id).join(', ')}`,
            res,
          });
          made.forEach((todo, i) => sameTodo(list[positions[i]] as Todo, todo, `The todo ${todo.id} in the list must have the fields it was created with.`, res));
          expectThat(positions.every((p, i) => i === 0 || p > positions[i - 1]), 'GET /todos must list todos oldest first (in the order they were created).', {
            expected: `ids in this order: ${made.map((t) => t.id).join(', ')}`,
            received: `positions in the list: ${positions.join(', ')}`,
            res,
          });
        },
      },
      {
        id: 'not-found',
        title: 'An unknown id is a 404 problem+json',
        hint: 'When the id is not in your store, answer 404 with `Content-Type: application/problem+json` and {"type","title","status":404,"detail"}.',
        async run({ http, random }) {
          for (const id of [randomId(random), `${random.word()}-${random.int(1, 99999)}`]) {
            const res = await http.get(`/todos/${id}`);
            expectLabProblem(res, 404, `GET /todos/${id}: no todo has this id, so the answer is 404 Not Found.`);
          }
        },
      },
      {
        id: 'server-ids',
        title: 'Ids are generated by the server, unique and unguessable',
        hint: 'Generate ids with a cryptographically secure random source (crypto.randomUUID()), never from a counter or the clock, and ignore any `id` the client sends.',
        async run({ http, random }) {
          const ids: string[] = [];
          let last: HttpResponse | undefined;
          for (let i = 0; i < 6; i++) {
            const chosen = `${random.word()}-${random.int(1, 1000)}`;
            const { todo, res } = await create(http, { id: chosen, title: randomTitle(random) });
            last = res;
            expectThat(todo.id !== chosen, 'The server must pick the id: an `id` sent by the client must be ignored.', {
              expected: `an id chosen by the server (not "${chosen}")`,
              received: `"id": "${todo.id}"`,
              res,
            });
            expectThat(ID_RULE.test(todo.id), 'Ids must be at least 16 URL-safe characters (A-Z, a-z, 0-9, - and _), e.g. a UUID.', {
              expected: 'an id such as "3f2b8c1e-5d7a-4e9b-8f6c-2a1d0e9b7c4f"',
              received: `"id": ${JSON.stringify(todo.id)}`,
              res,
            });
            ids.push(todo.id);
          }
          expectThat(new Set(ids).size === ids.length, 'Every todo must get a different id.', { expected: '6 different ids', received: ids.join('\n'), res: last });
          // Ids made one after the other must not look alike (a counter, a timestamp or a per-process prefix do).
          for (let i = 1; i < ids.length; i++) {
            const a = ids[i - 1];
            const b = ids[i];
            const n = Math.min(a.length, b.length);
            let differ = Math.abs(a.length - b.length);
            for (let k = 0; k < n; k++) if (a[k] !== b[k]) differ++;
            expectThat(differ >= Math.max(a.length, b.length) / 3, 'Ids must be unguessable: two ids created one after the other share most of their characters, so the next one can be predicted.', {
              expected: 'random ids (e.g. crypto.randomUUID()) that differ in most positions',
              received: `${a}\n${b}`,
              res: last,
            });
          }
        },
      },
      {
        id: 'replace-put',
        title: 'PUT /todos/{id} replaces the todo',
        hint: 'PUT sends the whole new representation: validate `title` and `completed`, store the replacement, answer 200 with it. Unknown id: 404.',
        async run({ http, random }) {
          const { todo } = await create(http, { title: randomTitle(random), completed: false });
          const replacement = { title: randomTitle(random), completed: true };
          const res = await http.put(`/todos/${todo.id}`, replacement);
          const put = expectTodo(res, 200, `PUT /todos/${todo.id} with a full todo must answer 200 with the replaced todo.`);
          const expected = { id: todo.id, ...replacement };
          sameTodo(put, expected, 'The PUT response must be the todo with the new title and completed (and the same id).', res);
          const after = await http.get(`/todos/${todo.id}`);
          sameTodo(expectTodo(after, 200, 'After a PUT, GET must still find the todo.'), expected, 'After a PUT, GET must return the replaced todo: the change must be stored, not only echoed.', after);

          const unknown = randomId(random);
          const missing = await http.put(`/todos/${unknown}`, { title: randomTitle(random), completed: false });
          missing.expectStatus(404, `PUT /todos/${unknown}: no todo has this id (ids are chosen by the server), so the answer is 404.`);
        },
      },
      {
        id: 'update-patch',
        title: 'PATCH /todos/{id} changes only the fields sent',
        hint: 'PATCH is a partial update: start from the stored todo and overwrite only the members present in the body.',
        async run({ http, random }) {
          const title = randomTitle(random);
          const { todo } = await create(http, { title, completed: false });
          const res1 = await http.patch(`/todos/${todo.id}`, { completed: true });
          const step1 = { id: todo.id, title, completed: true };
          sameTodo(expectTodo(res1, 200, 'PATCH with {"completed": true} must answer 200 with the updated todo.'), step1, 'PATCH {"completed": true} must set completed and keep the title.', res1);

          const newTitle = randomTitle(random);
          const res2 = await http.patch(`/todos/${todo.id}`, { title: newTitle }, { headers: { 'Content-Type': 'application/merge-patch+json' } });
          const step2 = { id: todo.id, title: newTitle, completed: true };
          sameTodo(expectTodo(res2, 200, 'PATCH with {"title": ...} (as application/merge-patch+json) must answer 200 with the updated todo.'), step2, 'PATCH {"title": ...} must change the title and keep completed: true.', res2);

          const after = await http.get(`/todos/${todo.id}`);
          sameTodo(expectTodo(after, 200, 'After a PATCH, GET must still find the todo.'), step2, 'After two PATCHes, GET must return the todo with both changes stored.', after);

          const unknown = randomId(random);
          const missing = await http.patch(`/todos/${unknown}`, { completed: true });
          missing.expectStatus(404, `PATCH /todos/${unknown}: no todo has this id, so the answer is 404.`);
        },
      },
      {
        id: 'delete',
        title: 'DELETE /todos/{id} is 204, then the todo is gone',
        hint: 'Remove the todo and answer 204 No Content with an empty body; afterwards GET and DELETE of that id are 404.',
        async run({ http, random }) {
          const { todo } = await create(http, { title: randomTitle(random) });
          const res = await http.delete(`/todos/${todo.id}`);
          res.expectStatus(204, `DELETE /todos/${todo.id} must answer 204 No Content.`);
          expectThat(res.bytes.length === 0, 'A 204 No Content response has no body.', { expected: '(empty body)', res });
          const get = await http.get(`/todos/${todo.id}`);
          get.expectStatus(404, 'After DELETE, GET of the same id must be 404: the todo must really be removed.');
          const again = await http.delete(`/todos/${todo.id}`);
          again.expectStatus(404, 'Deleting a todo that no longer exists is a 404.');
        },
      },
      {
        id: 'malformed-json',
        title: 'A body that is not JSON is a 400 problem+json',
        hint: 'Wrap JSON.parse in try/catch: a syntax error in the body is the client\'s mistake, 400 Bad Request as problem details, never a 500.',
        async run({ http, random }) {
          const { todo } = await create(http, { title: randomTitle(random) });
          const bodies = [`{"title": "${random.word()}",`, `{title: '${random.word()}'}`, 'not json'];
          for (const body of bodies) {
            const res = await http.request('/todos', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
            expectLabProblem(res, 400, 'POST /todos with a body that is not valid JSON must be rejected with 400 Bad Request.');
          }
          const res = await http.request(`/todos/${todo.id}`, { method: 'PATCH', body: `{"completed": ${random.pick(['tru', 'yes', '1,'])}}`, headers: { 'Content-Type': 'application/json' } });
          expectLabProblem(res, 400, 'PATCH with a body that is not valid JSON must be rejected with 400 Bad Request.');
        },
      },
      {
        id: 'validation',
        title: 'Invalid fields are a 422 problem+json',
        hint: 'Valid JSON with wrong content is 422 Unprocessable Content: check that `title` is a non-empty string (max 200) and `completed` a boolean, for POST, PUT and PATCH.',
        async run({ http, random }) {
          const { todo } = await create(http, { title: randomTitle(random) });
          const cases: { method: 'POST' | 'PUT' | 'PATCH'; path: string; body: unknown; why: string }[] = [
            { method: 'POST', path: '/todos', body: { completed: random.bool() }, why: '`title` is missing' },
            { method: 'POST', path: '/todos', body: { title: '   ' }, why: '`title` is blank' },
            { method: 'POST', path: '/todos', body: { title: random.int(1, 999) }, why: '`title` is a number, not a string' },
            { method: 'POST', path: '/todos', body: { title: random.word(), completed: random.pick(['yes', 'true', 1]) }, why: '`completed` is not a boolean' },
            { method: 'POST', path: '/todos', body: { title: 'x'.repeat(201 + random.int(0, 50)) }, why: '`title` is longer than 200 characters' },
            { method: 'POST', path: '/todos', body: [random.word()], why: 'the body is an array, not an object' },
            { method: 'PUT', path: `/todos/${todo.id}`, body: { title: randomTitle(random) }, why: 'PUT replaces the whole todo, so `completed` is required' },
            { method: 'PATCH', path: `/todos/${todo.id}`, body: { completed: random.pick(['no', 0, null]) }, why: '`completed` is not a boolean' },
            { method: 'PATCH', path: `/todos/${todo.id}`, body: { title: '' }, why: '`title` is empty' },
          ];
          for (const c of random.shuffle(cases)) {
            const res = await http.request(c.path, { method: c.method, json: c.body });
            expectLabProblem(res, 422, `${c.method} ${c.path} with ${JSON.stringify(c.body).slice(0, 80)}: ${c.why}, so the answer is 422 Unprocessable Content.`);
          }
          const after = await http.get(`/todos/${todo.id}`);
          sameTodo(expectTodo(after, 200, 'After rejected updates, GET must still find the todo.'), todo, 'A rejected PUT or PATCH must leave the todo unchanged.', after);
          // The edges are valid: exactly 200 characters, and any Unicode with its spaces, stored exactly as sent.
          for (const title of [sized(200), `  ${random.pick(HARD.unicode)} ${random.word()}  `]) {
            const { todo: made, res } = await create(http, { title, completed: false });
            expectThat(made.title === title, `POST /todos with a valid title of ${[...title].length} characters (${JSON.stringify(title.slice(0, 24))}${title.length > 24 ? '...' : ''}) must store it exactly as sent: at most 200 characters is allowed, Unicode and surrounding spaces included.`, {
              expected: `"title": ${JSON.stringify(title)}`,
              received: `"title": ${JSON.stringify(made.title)}`,
              res,
            });
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
