// stateless-scaling: three replicas of the learner's server (lab.replicas) sharing one Redis database, driven
// one by one (ctx.instances) and through the grader's round-robin balancer (ctx.balancer). Every check asks
// one instance to do something and another to show it, so state kept in a process cannot pass; concurrent
// work is released at the same moment on all three instances; faults are real (kill -9, SIGTERM).
import { connect } from 'node:net';
import { CheckFailure, defineLab, describeTiming, expectJson, expectThat, selfConnected, show, type CheckContext, type HttpResponse, type InstanceControl, type Random } from '../../grader/index.ts';

const REPLICAS = 3;
const INCREMENTS_PER_INSTANCE = 20;
const NOTES_BEFORE_KILL = 20;
const SLOW_MS = 1500;
/** The README's bound for exiting after the last in-flight request, plus slack for a busy machine. */
const EXIT_AFTER_MS = 3000;
const EXIT_SLACK_MS = 1000;

interface Users {
  [name: string]: string;
}

function usersEnv(r: Random): string {
  const out: Users = {};
  while (Object.keys(out).length < 3) out[`${r.word()}${r.int(10, 99)}`] = `pw-${r.string(14)}`;
  return JSON.stringify(out);
}

function users(ctx: CheckContext): [string, string][] {
  return Object.entries(JSON.parse(ctx.env.USERS) as Users);
}

const label = (i: InstanceControl) => `instance ${i.id}`;
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

async function login(ctx: CheckContext, on: InstanceControl, user: string, password: string): Promise<string> {
  const res = await ctx.http.post(`${on.url}/login`, { user, password });
  const body = expectJson<{ token?: unknown }>(res, 200, `POST /login with ${user}'s password from USERS on ${label(on)}`);
  expectThat(typeof body?.token === 'string' && body.token.length >= 16, 'POST /login must answer {"token": "<token>"}: an opaque string of at least 128 random bits.', {
    expected: '{"token": "<at least 16 characters>"}',
    received: show(body),
    res,
  });
  return body.token as string;
}

/** GET /me on `on`: the user name, or undefined for 401 (anything else fails). */
async function me(ctx: CheckContext, on: InstanceControl, token: string): Promise<{ user?: string; res: HttpResponse }> {
  const res = await ctx.http.get(`${on.url}/me`, { headers: auth(token) });
  if (res.status === 401) return { res };
  const body = expectJson<{ user?: unknown; instance?: unknown }>(res, [200, 401], `GET /me on ${label(on)}`);
  expectThat(body?.instance === String(on.id), `GET /me answers "instance" with the INSTANCE_ID of the instance that answered (${on.id} here).`, { expected: `"instance": "${on.id}"`, received: show(body?.instance), res });
  return { user: typeof body?.user === 'string' ? body.user : undefined, res };
}

function others(ctx: CheckContext, not: InstanceControl): InstanceControl[] {
  return ctx.instances.filter((i) => i !== not);
}

/** Fires `perInstance` requests at each instance, all released at the same moment. */
async function everywhereAtOnce(ctx: CheckContext, perInstance: number, request: (i: number) => { path: string; method?: string; headers?: Record<string, string> }) {
  const groups = await Promise.all(ctx.instances.map((inst) => ctx.http.simultaneous(perInstance, request, { baseUrl: inst.url })));
  const responses = groups.flatMap((g, gi) => g.responses.map((r) => ({ r, instance: ctx.instances[gi]! })));
  const timing = groups.map((g, gi) => `instance ${gi + 1}: ${describeTiming(g.timing)}`).join('; ');
  return { responses, timing };
}

/** Is anything accepting connections on 127.0.0.1:port? */
function accepts(port: number, timeoutMs: number): Promise<'accepted' | 'refused' | 'timeout'> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      const self = selfConnected(s); // nothing listened: the connection met itself
      s.destroy();
      resolve(self ? 'refused' : 'accepted');
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve('refused');
    });
  });
}

export default defineLab(
  {
    id: 'stateless-scaling',
    title: 'Stateless scaling: three replicas behind a load balancer',
    track: 'scaling',
    summary: 'Make an app that keeps its state in memory run as three replicas: sessions, counters, a rate limit and notes in Redis, atomic updates, acknowledged writes that survive kill -9, and draining on SIGTERM.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [5, 17, 16],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check, run before
    // the last check (which stops the server: it would be started again for it).
    malformedRequests: { paths: ['/counters/', '/notes/'], before: 'drain-on-sigterm' },
    services: ['redis'],
    replicas: REPLICAS,
    env: {
      USERS: { description: 'JSON object of user names to passwords (three users, random).', value: usersEnv },
      RATE_LIMIT: { description: 'Requests one client may make to GET /limited per window (5 to 9).', value: (r) => String(r.int(5, 9)) },
      RATE_WINDOW_S: { description: 'The rate-limit window, in seconds.', value: () => '60' },
    },
    checks: [
      {
        id: 'sessions-shared',
        title: 'A token issued by one instance works on all three',
        hint: 'Keep sessions in Redis, not in a Map: on login SET session:<token> <user> EX <ttl>; on /me GET it. Any instance can then answer for any token.',
        async run(ctx) {
          for (const inst of ctx.instances) {
            const res = await ctx.http.get(`${inst.url}/health`);
            const body = expectJson<{ status?: unknown; instance?: unknown }>(res, 200, `GET /health on ${label(inst)}`);
            expectThat(body?.status === 'ok' && body?.instance === String(inst.id), `GET /health answers {"status": "ok", "instance": "<INSTANCE_ID>"}; ${label(inst)} was started with INSTANCE_ID=${inst.id}.`, {
              expected: `{"status":"ok","instance":"${inst.id}"}`,
              received: show(body),
              res,
            });
          }
          const [[user, password], [other]] = users(ctx);
          const issuer = ctx.instances[ctx.random.int(0, REPLICAS - 1)]!;
          const token = await login(ctx, issuer, user!, password!);
          ctx.note(`${user} logged in on ${label(issuer)}`);
          for (const inst of ctx.instances) {
            const { user: who, res } = await me(ctx, inst, token);
            if (who === undefined) {
              throw new CheckFailure({
                message: `A token issued by ${label(issuer)} must work on every instance, but ${label(inst)} answered 401: ${inst === issuer ? 'even the instance that issued it does not know it' : 'the session lives in the memory of the instance that created it. Store it in Redis, where every instance reads it'}.`,
                expected: `200 {"user":"${user}","instance":"${inst.id}"}`,
                received: `${res.status}`,
                exchange: res.exchange,
              });
            }
            expectThat(who === user, `GET /me must name the token's user (${user}).`, { expected: `"user": "${user}"`, received: show(who), res });
          }
          // Wrong credentials and tokens that are not exactly one issued.
          const wrong = await ctx.http.post(`${ctx.instances[1]!.url}/login`, { user, password: `${password}x` });
          expectThat(wrong.status === 401, 'POST /login with a wrong password must be 401.', { expected: '401', received: String(wrong.status), res: wrong });
          for (const name of ['constructor', '__proto__', other!]) {
            const res = await ctx.http.post(`${ctx.instances[2]!.url}/login`, { user: name, password: name === other ? password : '' });
            expectThat(res.status === 401, `POST /login for "${name}" with ${name === other ? `${user}'s password` : 'an empty password'} must be 401: only the exact pairs of USERS log in.`, { expected: '401', received: String(res.status), res });
          }
          for (const bad of [token.slice(0, -1), `${token}x`, ctx.random.string(43)]) {
            const inst = ctx.instances[ctx.random.int(0, REPLICAS - 1)]!;
            const { user: who, res } = await me(ctx, inst, bad);
            expectThat(who === undefined, `GET /me with a token that was never issued (${bad === token.slice(0, -1) ? 'the real one minus its last character' : bad.startsWith(token) ? 'the real one plus a character' : 'random'}) must be 401 on every instance.`, {
              expected: '401',
              received: `${res.status} ${res.text.slice(0, 100)}`,
              res,
            });
          }
        },
      },
      {
        id: 'logout-everywhere',
        title: 'After logout on one instance the token is refused on all three at once; other tokens stay valid',
        hint: 'Logout deletes the session in Redis (DEL session:<token>), and every /me reads Redis: no per-instance cache of sessions, which logout on another instance cannot clear.',
        async run(ctx) {
          const [[user, password]] = users(ctx);
          const [a, b, c] = ctx.random.shuffle([...ctx.instances]);
          const token = await login(ctx, a!, user!, password!);
          const kept = await login(ctx, b!, user!, password!);
          // Use the token everywhere first: a per-instance cache of sessions is warm now.
          for (const inst of ctx.instances) {
            const { user: who, res } = await me(ctx, inst, token);
            expectThat(who === user, `Before logout, the token must work on every instance (${label(inst)} answered ${res.status}).`, { expected: '200', received: String(res.status), res });
          }
          const out = await ctx.http.post(`${c!.url}/logout`, undefined, { headers: auth(token) });
          expectThat(out.status === 204, `POST /logout with a valid token must answer 204 (on ${label(c!)}).`, { expected: '204', received: String(out.status), res: out });
          ctx.note(`logged out on ${label(c!)}`);
          for (const inst of ctx.instances) {
            const { user: who, res } = await me(ctx, inst, token);
            if (who !== undefined) {
              throw new CheckFailure({
                message: `After POST /logout on ${label(c!)}, ${label(inst)} still accepted the token: ${inst === c ? 'logout did not remove the session' : 'it answered from a copy of the session kept in its own memory. Read the session from Redis on every request'}.`,
                expected: '401 at once on every instance',
                received: `${res.status} ${res.text.slice(0, 100)}`,
                exchange: res.exchange,
              });
            }
          }
          for (const inst of ctx.instances) {
            const { user: who, res } = await me(ctx, inst, kept);
            expectThat(who === user, `Logging out one token must not end ${user}'s other sessions: ${label(inst)} refused the other token.`, { expected: '200', received: String(res.status), res });
          }
        },
      },
      {
        id: 'counters-atomic',
        title: `${INCREMENTS_PER_INSTANCE * REPLICAS} increments released at once across the instances answer 1..${INCREMENTS_PER_INSTANCE * REPLICAS}, each once`,
        hint: 'INCR counter:<name> in Redis: one atomic command that returns the new value. A GET then SET (or a Map in the process) loses increments when instances run them at the same time.',
        timeoutMs: 20_000,
        async run(ctx) {
          const name = `c-${ctx.random.string(8)}`;
          const total = INCREMENTS_PER_INSTANCE * REPLICAS;
          const { responses, timing } = await everywhereAtOnce(ctx, INCREMENTS_PER_INSTANCE, () => ({ path: `/counters/${name}/increment`, method: 'POST' }));
          ctx.note(timing);
          const values: number[] = [];
          for (const { r, instance } of responses) {
            if (r.status === 'rejected') throw r.reason;
            const body = expectJson<{ name?: unknown; value?: unknown }>(r.value, 200, `POST /counters/${name}/increment on ${label(instance)}`);
            expectThat(body?.name === name && Number.isInteger(body?.value), `POST /counters/{name}/increment answers {"name": "<name>", "value": <integer>}.`, { expected: `{"name":"${name}","value":<integer>}`, received: show(body), res: r.value });
            values.push(body.value as number);
          }
          values.sort((x, y) => x - y);
          const expected = Array.from({ length: total }, (_, i) => i + 1);
          if (show(values) !== show(expected)) {
            const dupes = values.filter((v, i) => i > 0 && v === values[i - 1]!).length;
            throw new CheckFailure({
              message: `${total} increments of one counter, ${INCREMENTS_PER_INSTANCE} on each instance at the same moment, must answer the values 1..${total}, each once. ${values[values.length - 1]! <= INCREMENTS_PER_INSTANCE ? 'No answer went past ' + INCREMENTS_PER_INSTANCE + ': each instance counts on its own (a counter in process memory).' : `${dupes} value(s) were answered twice: increments were lost between a read and a write. Use one atomic INCR.`}`,
              expected: `1..${total}`,
              received: `${show(values.slice(0, 30))}${values.length > 30 ? ' ...' : ''}`,
            });
          }
          for (const inst of ctx.instances) {
            const res = await ctx.http.get(`${inst.url}/counters/${name}`);
            const body = expectJson<{ value?: unknown }>(res, 200, `GET /counters/${name} on ${label(inst)}`);
            expectThat(body?.value === total, `After ${total} increments every instance must read ${total}.`, { expected: `"value": ${total}`, received: show(body?.value), res });
          }
          const fresh = await ctx.http.get(`${ctx.balancer.url}/counters/never-${ctx.random.string(6)}`);
          const zero = expectJson<{ value?: unknown }>(fresh, 200, 'GET /counters/{name} of a counter never incremented');
          expectThat(zero?.value === 0, 'A counter never incremented reads 0.', { expected: '"value": 0', received: show(zero?.value), res: fresh });
        },
      },
      {
        id: 'rate-limit-global',
        title: 'RATE_LIMIT x 2 requests of one client at once across the instances: exactly RATE_LIMIT pass',
        hint: 'One counter per client in Redis: INCR ratelimit:<client>; if it returns 1, EXPIRE it RATE_WINDOW_S (or MULTI/Lua); allow while <= RATE_LIMIT; Retry-After = its TTL. A limit kept per process lets the client through once per instance.',
        timeoutMs: 20_000,
        async run(ctx) {
          const limit = Number(ctx.env.RATE_LIMIT);
          const windowS = Number(ctx.env.RATE_WINDOW_S);
          const client = `client-${ctx.random.string(10)}`;
          const per = Math.ceil((2 * limit) / REPLICAS);
          const { responses, timing } = await everywhereAtOnce(ctx, per, () => ({ path: '/limited', headers: { 'X-Client-Id': client } }));
          ctx.note(timing);
          let ok = 0;
          const byInstance: Record<number, string[]> = {};
          for (const { r, instance } of responses) {
            if (r.status === 'rejected') throw r.reason;
            const res = r.value;
            (byInstance[instance.id] ??= []).push(String(res.status));
            if (res.status === 200) ok++;
            else if (res.status === 429) {
              const retry = res.header('retry-after');
              expectThat(retry !== undefined && /^\d+$/.test(retry.trim()) && Number(retry) >= 1 && Number(retry) <= windowS, `A 429 must carry Retry-After: the whole seconds until the client's window ends (1 to ${windowS}).`, {
                expected: `Retry-After: 1..${windowS}`,
                received: retry === undefined ? 'no Retry-After' : `Retry-After: ${retry}`,
                res,
              });
            } else expectThat(false, `GET /limited answers 200 or 429 (${label(instance)} answered ${res.status}).`, { expected: '200 or 429', received: String(res.status), res });
          }
          const seen = Object.entries(byInstance).map(([id, s]) => `instance ${id}: ${s.join(' ')}`).join('; ');
          if (ok !== limit) {
            throw new CheckFailure({
              message: `RATE_LIMIT is ${limit}: of ${per * REPLICAS} requests of one client, ${per} on each instance at the same moment, exactly ${limit} must get 200, but ${ok} did. ${ok > limit ? (ok >= Math.min(per * REPLICAS, limit * REPLICAS) ? 'Each instance seems to count on its own: keep the count in Redis.' : 'The shared count is read and then written: concurrent requests read the same value. Use INCR, which counts atomically.') : 'Fewer than the limit passed: count each request once.'}`,
              expected: `${limit} x 200, ${per * REPLICAS - limit} x 429`,
              received: seen,
            });
          }
          const again = await ctx.http.get(`${ctx.balancer.url}/limited`, { headers: { 'X-Client-Id': client } });
          expectThat(again.status === 429, 'Once the limit is used up, the next request of that client is 429 on any instance until its window ends.', { expected: '429', received: String(again.status), res: again });
          const other = await ctx.http.get(`${ctx.balancer.url}/limited`, { headers: { 'X-Client-Id': `${client}-other` } });
          expectThat(other.status === 200, 'Clients are limited independently: another client\'s first request is 200.', { expected: '200', received: String(other.status), res: other });
          ctx.note(`${ok} of ${per * REPLICAS} passed (${seen})`);
        },
      },
      {
        id: 'notes-everywhere',
        title: 'A note written on one instance reads back on the others at once, and so does its next version',
        hint: 'PUT stores the note in Redis and answers 204 after the SET resolved; GET reads Redis every time. A copy kept by an instance (a Map, a read cache) serves the old version after another instance wrote a new one.',
        async run(ctx) {
          const id = `n-${ctx.random.string(8)}`;
          const [a, b] = ctx.random.shuffle([...ctx.instances]);
          const v1 = `first ${ctx.random.string(12)} ünïcödé ✓\nsecond line`;
          const v2 = `second version ${ctx.random.string(12)}`;
          const put = async (on: InstanceControl, text: string) => {
            const res = await ctx.http.request(`${on.url}/notes/${id}`, { method: 'PUT', body: text, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
            expectThat(res.status === 204, `PUT /notes/${id} must answer 204 once the note is stored (on ${label(on)}).`, { expected: '204', received: String(res.status), res });
          };
          const readAll = async (text: string, after: string) => {
            for (const inst of ctx.instances) {
              const res = await ctx.http.get(`${inst.url}/notes/${id}`);
              if (res.status !== 200 || res.text !== text) {
                throw new CheckFailure({
                  message: `${after}, GET /notes/${id} on ${label(inst)} must answer it at once. ${res.status === 404 ? 'It answered 404: the note lives where only the instance that stored it can read it (process memory, local disk, or a buffer not yet written to Redis).' : res.status === 200 ? 'It answered an older version: that instance kept a copy of its own. Read from Redis every time.' : ''}`,
                  expected: `200 ${show(text)}`,
                  received: `${res.status} ${show(res.text.slice(0, 100))}`,
                  exchange: res.exchange,
                });
              }
              const type = res.header('content-type') ?? '';
              expectThat(/^text\/plain\b/i.test(type), 'GET /notes/{id} answers the note as text: Content-Type: text/plain.', { expected: 'Content-Type: text/plain (a charset parameter is fine)', received: type ? `Content-Type: ${type}` : 'no Content-Type', res });
            }
          };
          await put(a!, v1);
          await readAll(v1, `After ${label(a!)} acknowledged the note`);
          await put(b!, v2);
          await readAll(v2, `After ${label(b!)} acknowledged a new version of the note`);
          const missing = await ctx.http.get(`${ctx.balancer.url}/notes/none-${ctx.random.string(6)}`);
          expectThat(missing.status === 404, 'GET of a note never written is 404.', { expected: '404', received: String(missing.status), res: missing });
        },
      },
      {
        id: 'kill-9-keeps-acknowledged',
        title: `${NOTES_BEFORE_KILL} notes acknowledged by instance 2, then kill -9: every one is still there`,
        hint: 'Answer 204 only after await redis.set(...) resolved. A write buffered in the process and flushed later is lost with the process: kill -9 runs no more code, no exit handler.',
        timeoutMs: 20_000,
        async run(ctx) {
          const victim = ctx.instances[1]!;
          const prefix = `k-${ctx.random.string(6)}`;
          const texts = Array.from({ length: NOTES_BEFORE_KILL }, (_, i) => `${prefix} note ${i} ${ctx.random.string(10)}`);
          for (const [i, text] of texts.entries()) {
            const res = await ctx.http.request(`${victim.url}/notes/${prefix}-${i}`, { method: 'PUT', body: text, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
            expectThat(res.status === 204, `PUT /notes/{id} must answer 204 once the note is stored (on ${label(victim)}).`, { expected: '204', received: String(res.status), res });
          }
          await victim.kill('SIGKILL');
          ctx.note(`${label(victim)} killed with SIGKILL right after its ${NOTES_BEFORE_KILL}th 204`);
          const lost: number[] = [];
          const [x, y] = others(ctx, victim);
          for (const [i, text] of texts.entries()) {
            const res = await ctx.http.get(`${(i % 2 ? x : y)!.url}/notes/${prefix}-${i}`);
            if (res.status !== 200 || res.text !== text) lost.push(i);
          }
          if (lost.length > 0) {
            throw new CheckFailure({
              message: `${lost.length} of ${NOTES_BEFORE_KILL} notes that ${label(victim)} acknowledged with 204 were gone after it was killed with kill -9 (notes ${lost.slice(0, 10).join(', ')}${lost.length > 10 ? '...' : ''}): a 204 promised they were stored. Write to Redis first, then answer.`,
              expected: `all ${NOTES_BEFORE_KILL} readable on instances ${x!.id} and ${y!.id}`,
              received: `${NOTES_BEFORE_KILL - lost.length} readable`,
            });
          }
        },
      },
      {
        id: 'drain-on-sigterm',
        title: 'SIGTERM during a request: it still gets its answer, new connections are refused, the process exits',
        hint: 'process.on("SIGTERM", () => { server.close(() => redis.quit().then(() => process.exit(0))); server.closeIdleConnections(); }): close() stops accepting at once and calls back after the last connection ended.',
        timeoutMs: 25_000,
        async run(ctx) {
          const victim = ctx.instances[2]!;
          const inflight = ctx.http.get(`${victim.url}/slow?ms=${SLOW_MS}`, { newConnection: true, timeoutMs: SLOW_MS + 8000 }).then(
            (res) => ({ res, at: performance.now() }),
            (err: unknown) => ({ err, at: performance.now() }),
          );
          await ctx.sleep(300);
          const t0 = performance.now();
          let exitedAt: number | undefined;
          const exit = victim.kill('SIGTERM').then((e) => {
            exitedAt = performance.now();
            return e;
          });
          await ctx.sleep(300);
          const probe = victim.running || exitedAt === undefined ? await accepts(victim.port, 1000) : 'refused';
          const done = await inflight;
          if ('err' in done) {
            const why = done.err instanceof CheckFailure ? done.err.message : String(done.err);
            throw new CheckFailure({
              message: `A GET /slow?ms=${SLOW_MS} was in flight when ${label(victim)} got SIGTERM, and it did not get its answer: ${exitedAt !== undefined && exitedAt - t0 < 200 ? 'the process died at once. Handle SIGTERM: stop accepting, let requests in flight finish, then exit.' : 'the connection was cut before the response.'}`,
              expected: `200 {"done":true} after about ${SLOW_MS} ms`,
              received: why.slice(0, 200),
            });
          }
          expectThat(done.res.status === 200, `The request in flight during SIGTERM must still get its normal answer.`, { expected: '200', received: String(done.res.status), res: done.res });
          if (probe === 'accepted') {
            throw new CheckFailure({
              message: `300 ms after SIGTERM, while it drained, ${label(victim)} still accepted a new connection on its port: stop listening at once (server.close()), so the load balancer sends new clients elsewhere.`,
              expected: 'connection refused',
              received: 'connection accepted',
            });
          }
          const budget = EXIT_AFTER_MS + EXIT_SLACK_MS;
          const e = await Promise.race([exit, ctx.sleep(Math.max(0, done.at + budget - performance.now())).then(() => undefined)]);
          if (e === undefined || e.signal === 'SIGKILL') {
            void exit.catch(() => {});
            throw new CheckFailure({
              message: `${label(victim)} finished its last request but had not exited ${(budget / 1000).toFixed(0)} s later: something keeps the process alive (an open Redis connection, an interval, idle keep-alive connections). After server.close() calls back, quit Redis and exit.`,
              expected: `exit within ${EXIT_AFTER_MS / 1000} s of the last request`,
              received: 'still running',
            });
          }
          ctx.note(`the in-flight request got 200 after ${Math.round(done.at - t0)} ms of draining; new connections refused; exited ${Math.round(exitedAt! - done.at)} ms after it (${e.signal ?? `code ${e.code}`})`);
        },
      },
    ],
  },
  import.meta.dirname,
);
