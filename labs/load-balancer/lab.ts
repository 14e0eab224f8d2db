import { Agent, request as httpRequest } from 'node:http';
import {
  BackendsByEnv,
  CheckFailure,
  defineLab,
  describeTiming,
  expectThat,
  seededBytes,
  sha256Hex,
  type Backend,
  type BackendPool,
  type CheckContext,
  type EnvContext,
  type HttpResponse,
  type RequestOptions,
} from '../../grader/index.ts';

// --- the backends the grader hosts -------------------------------------------------------------------

/** Five backends: enough that a retry (or three) can always land on one that works. */
const NAMES = ['b1', 'b2', 'b3', 'b4', 'b5'];
const backends = new BackendsByEnv('BACKENDS');
/** HEALTH_PATH is drawn first; the backends are hosted with it (the knobs of one run share its EnvContext). */
const healthPaths = new WeakMap<EnvContext, string>();

/** How long the slow backend of `slow-backend` takes to answer, and the bound for the others' answers. */
const SLOW_MS = 1500;
const FAST_MS = 1000;
/** How many requests a check sends at most while waiting for one to reach a given backend. */
const FIND_LIMIT = 60;
/** HEALTH_INTERVAL_MS for `passive-ejection` (a restart): long, so a re-admission by a health probe is rare and countable. */
const PASSIVE_INTERVAL_MS = 3000;

// --- helpers -----------------------------------------------------------------------------------------

const intervalOf = (ctx: CheckContext) => Number(ctx.env.HEALTH_INTERVAL_MS);

/**
 * Every check but the first starts with the backends back to normal (echo, healthy, listening, nothing
 * recorded) and the balancer restarted, so that what one check did to the balancer's view of the backends
 * (ejected, out of rotation) cannot decide the next check.
 */
async function fresh(ctx: CheckContext, options: { restart: boolean; env?: Record<string, string> } = { restart: true }): Promise<BackendPool> {
  const pool = backends.of(ctx);
  await pool.reset();
  if (options.restart) {
    await ctx.server.restart({ env: options.env });
    await pool.reset(); // forget what the old process sent while it was being stopped
  }
  return pool;
}

/** A fresh path prefix for this check's requests: a backend's requests are counted by it. */
function tag(ctx: CheckContext, what: string): string {
  return `/${what}/${ctx.random.string(8)}`;
}

function sent(b: Backend, prefix: string) {
  return b.requests.filter((r) => r.path.startsWith(`${prefix}/`));
}

function countsOf(pool: BackendPool, prefix: string): Record<string, number> {
  return Object.fromEntries(pool.backends.map((b) => [b.name, sent(b, prefix).length]));
}

const showCounts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** One request; a transport failure (refused, reset, timeout) comes back as a string instead of a throw. */
async function attempt(ctx: CheckContext, path: string, options: RequestOptions = {}): Promise<HttpResponse | string> {
  try {
    return await ctx.http.request(path, { timeoutMs: 5000, ...options });
  } catch (err) {
    if (err instanceof CheckFailure && err.details.transport) return `${options.method ?? 'GET'} ${path}: ${err.details.message}`;
    throw err;
  }
}

/** Which backend answered: the `X-Backend` header every backend sets, passed back by the balancer. */
function servedBy(pool: BackendPool, res: HttpResponse, what: string): Backend {
  const name = res.header('x-backend');
  const b = pool.backends.find((x) => x.name === name);
  if (!b) {
    res.fail(
      `${what}: the answer has no \`X-Backend\` header naming one of the backends (${NAMES.join(', ')}). Every backend sets it on its answers; pass the backend's response headers back to the client.`,
      'X-Backend: b1 (or b2...), from the backend that answered',
    );
  }
  return b;
}

/** Polls (every 20 ms) until `condition` holds; false after `timeoutMs`. */
async function waitFor(ctx: CheckContext, condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) return false;
    await ctx.sleep(20);
  }
  return true;
}

/**
 * Waits until `b` has received `n` more health probes. Two probes after a change of its health mean the
 * balancer has seen the change (one failed probe, or two in a row, are both allowed); the third arriving
 * means the answer to the second has surely been handled.
 */
async function waitProbes(ctx: CheckContext, b: Backend, n: number, why: string): Promise<void> {
  const I = intervalOf(ctx);
  const from = b.healthProbes.length;
  const budget = n * I + 4000;
  const ok = await waitFor(ctx, () => b.healthProbes.length >= from + n, budget);
  if (!ok) {
    const got = b.healthProbes.length - from;
    ctx.fail({
      message: `${why}: the grader waited ${budget} ms for ${n} health probes of backend ${b.name} (GET ${b.url}${ctx.env.HEALTH_PATH}) and ${got === 0 ? 'none came' : `only ${got} came`}. Probe HEALTH_PATH on every backend every HEALTH_INTERVAL_MS (${I} ms), for as long as the balancer runs, whether the backend is in rotation or not.`,
      expected: `a GET ${ctx.env.HEALTH_PATH} to ${b.name} about every ${I} ms`,
      received: `${got} probe(s) in ${budget} ms`,
    });
  }
}

/** Sends GETs (each on a connection of its own) until one reaches `b`; fails after FIND_LIMIT. */
async function untilReaches(ctx: CheckContext, pool: BackendPool, b: Backend, prefix: string, why: string): Promise<number> {
  for (let i = 0; i < FIND_LIMIT; i++) {
    const res = await attempt(ctx, `${prefix}/${i}`, { newConnection: true });
    if (typeof res === 'string') return ctx.fail({ message: `${why}: a GET failed while every backend but none was down.`, received: res });
    res.expectStatus(200, `${why}: GET ${prefix}/${i} must be answered by a backend (200).`);
    if (sent(b, prefix).length > 0) return i + 1;
  }
  ctx.fail({
    message: `${why}: backend ${b.name} got none of ${FIND_LIMIT} GETs sent one after another, although its health endpoint has answered 200 for at least two probes. A backend whose health check passes again goes back into rotation.`,
    expected: `${b.name} back in rotation (round robin: 1 of every ${NAMES.length} requests)`,
    received: showCounts(countsOf(pool, prefix)),
  });
}

/** GET on `agent` (one keep-alive socket): status and X-Backend; a transport failure fails the check. */
function keepAliveGet(ctx: CheckContext, agent: Agent, path: string): Promise<{ status: number; backend?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${ctx.server.url}${path}`, { agent, headers: { Connection: 'keep-alive' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: [res.headers['x-backend']].flat()[0] }));
      res.on('error', (err) => reject(new CheckFailure({ message: `GET ${path}: the answer broke off (${err.message}).` })));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err) => reject(new CheckFailure({ message: `GET ${path} on a reused keep-alive connection failed: ${err.message}.`, received: err.message })));
    req.end();
  });
}

/**
 * Round robin, stated as a bound: in any run of consecutive requests (none in flight when the next is sent),
 * each backend gets its fair share (length / number of backends) plus or minus one. Round robin meets it
 * exactly (each gets floor or ceil); a random choice breaks it almost surely within 25 requests.
 */
function worstWindow(seq: string[], names: string[]): { from: number; to: number; name: string; count: number; fair: number } | undefined {
  for (let from = 0; from < seq.length; from++) {
    const counts = new Map<string, number>(names.map((n) => [n, 0]));
    for (let to = from; to < seq.length; to++) {
      counts.set(seq[to], (counts.get(seq[to]) ?? 0) + 1);
      const fair = (to - from + 1) / names.length;
      for (const [name, count] of counts) {
        if (Math.abs(count - fair) > 1) return { from, to, name, count, fair };
      }
    }
  }
  return undefined;
}

async function distribution(ctx: CheckContext, what: string, newConnection: boolean): Promise<void> {
  const pool = backends.of(ctx);
  const prefix = tag(ctx, what);
  const n = NAMES.length * 5;
  const seq: string[] = [];
  if (newConnection) {
    for (let i = 0; i < n; i++) {
      const res = await ctx.http.get(`${prefix}/${i}`, { newConnection });
      res.expectStatus(200, `GET ${prefix}/${i} must be forwarded to a backend and answered with its 200.`);
      seq.push(servedBy(pool, res, `GET ${prefix}/${i}`).name);
    }
  } else {
    // One client connection, kept alive and reused for every request (a pooling client may open several).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < n; i++) {
        const path = `${prefix}/${i}`;
        const res = await keepAliveGet(ctx, agent, path);
        if (res.status !== 200) ctx.fail({ message: `GET ${path} (on a reused keep-alive connection) must be forwarded to a backend and answered with its 200.`, expected: 'HTTP 200', received: `HTTP ${res.status}`, reproduce: `curl -i ${ctx.server.url}${path}` });
        const name = NAMES.find((x) => x === res.backend);
        if (!name) ctx.fail({ message: `GET ${path}: the answer has no \`X-Backend\` header naming one of the backends (${NAMES.join(', ')}). Pass the backend's response headers back to the client.`, received: `X-Backend: ${res.backend ?? '(missing)'}` });
        seq.push(name);
      }
    } finally {
      agent.destroy();
    }
  }
  ctx.note(`${n} GETs ${newConnection ? 'each on a new connection' : 'on reused keep-alive connections'}: ${seq.join(' ')} (${showCounts(countsOf(pool, prefix))})`);
  const bad = worstWindow(seq, NAMES);
  if (bad) {
    const counts = countsOf(pool, prefix);
    const used = Object.values(counts).filter((c) => c > 0).length;
    const cause =
      !newConnection && used < NAMES.length
        ? `only ${used} of the ${NAMES.length} backends got any of these ${n} requests, which the client sent on ${used === 1 ? 'one reused keep-alive connection' : 'a few reused keep-alive connections'}: pick the backend for every request, not once per client connection`
        : used === 1
          ? 'every request went to the same backend: pick a backend per request, round robin over the backends in rotation'
          : 'the backends are not taken in turn: round robin (a counter modulo the number of backends in rotation), not a random choice';
    ctx.fail({
      message: `Requests sent one after another must take the backends in turn: in any run of consecutive requests each of the ${NAMES.length} backends gets its fair share plus or minus one. In requests ${bad.from + 1} to ${bad.to + 1} ${bad.name} got ${bad.count} (fair share ${bad.fair.toFixed(1)}); ${cause}.`,
      expected: `round robin, e.g. ${NAMES.join(' ')} ${NAMES.join(' ')} ...`,
      received: `${seq.join(' ')}  (${showCounts(counts)})`,
    });
  }
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'load-balancer',
    title: 'Load balancer: round robin, health checks, retries and ejection',
    track: 'scaling',
    summary: 'A layer-7 load balancer over five grader-hosted backends: round robin per request, active health checks that drain and re-admit, passive ejection on connection errors, one retry of idempotent requests on another backend (never a POST), 503 with Retry-After when none is left, and no stall behind a slow backend.',
    difficulty: 'intermediate',
    estimatedMinutes: 120,
    questions: [22, 5],
    // The engine's malformed-requests check runs before all-down (which leaves every backend stopped: a 503 for anything).
    malformedRequests: { before: 'all-down' },
    env: {
      HEALTH_PATH: {
        description: 'The path of every backend\'s health endpoint (200 while healthy, 503 when not).',
        value: (r, run) => {
          const path = r.pick(['/health', '/healthz', '/status/health']);
          healthPaths.set(run, path);
          return path;
        },
      },
      HEALTH_INTERVAL_MS: {
        description: 'How often to probe each backend\'s HEALTH_PATH, in milliseconds.',
        value: (r) => String(r.int(200, 300)),
      },
      BACKENDS: {
        description: 'Comma-separated base URLs of the backends to balance (hosted by the grader, no trailing slash).',
        value: (_r, run) => backends.host(run, NAMES, { healthPath: healthPaths.get(run) ?? '/health' }),
      },
    },
    checks: [
      {
        id: 'forwards',
        title: 'A request is forwarded to one backend as it came (method, path and query, headers, body) and its answer passed back',
        hint: 'For each request pick a backend, send it the same method, path with query, headers and body bytes, and copy its status, headers and body back to the client.',
        async run(ctx) {
          const pool = await fresh(ctx, { restart: false });
          const id = ctx.random.string(10);
          const path = `/items/${id}/a%2Fb%20c?q=${ctx.random.word()}&q=2&empty=&mark=%E2%9C%93`;
          const token = ctx.random.string(16);
          // Binary bytes (not valid UTF-8): a body gathered as a string is corrupted on the way.
          const body = seededBytes(ctx.random, 48 * 1024 + ctx.random.int(0, 999));
          const digest = sha256Hex(body);
          const res = await ctx.http.request(path, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream', 'X-Request-Id': token } });
          const seen = pool.requests().filter((r) => r.path.includes(id));
          expectThat(seen.length > 0, `PUT ${path} must be forwarded to one of the backends in BACKENDS; none received it.`, { expected: `PUT ${path} at one backend`, received: 'no request at any backend', res });
          expectThat(seen.length === 1, `PUT ${path} must reach exactly one backend once (every backend answered it normally: nothing to retry); it arrived ${seen.length} times.`, { expected: '1 request', received: seen.map((r) => `${r.backend}: ${r.method} ${r.path}`).join('\n'), res });
          const r = seen[0];
          expectThat(r.method === 'PUT', `The backend must receive the client's method.`, { expected: 'PUT', received: r.method, res });
          expectThat(r.path === path, `The backend must receive the path and query exactly as the client sent them (percent-encoding, repeated and empty parameters included).`, { expected: path, received: r.path, res });
          expectThat(r.headers['x-request-id'] === token, 'The client\'s request headers must be forwarded: X-Request-Id did not arrive at the backend.', { expected: `X-Request-Id: ${token}`, received: `X-Request-Id: ${String(r.headers['x-request-id'] ?? '(missing)')}`, res });
          expectThat(
            r.bodyBytes === body.length && r.bodySha256 === digest,
            `The request body must be forwarded byte for byte (${body.length} bytes of binary data, not UTF-8). Collect it as Buffers (or bytes), never as a string.`,
            { expected: `${body.length} bytes, sha256 ${digest}`, received: `${r.bodyBytes} bytes, sha256 ${r.bodySha256}`, res },
          );
          res.expectStatus(200, `The backend answered 200: pass its status back.`);
          const b = servedBy(pool, res, `PUT ${path}`);
          expectThat(b.name === r.backend, `X-Backend of the answer must be the one of the backend that received the request.`, { expected: `X-Backend: ${r.backend}`, received: `X-Backend: ${b.name}`, res });
          let echo: Record<string, unknown> | undefined;
          try {
            echo = JSON.parse(res.text) as Record<string, unknown>;
          } catch {
            echo = undefined;
          }
          expectThat(
            echo?.backend === r.backend && echo?.bodySha256 === digest && echo?.path === path,
            `The backend's answer body (a JSON echo of the request) must be passed back unchanged.`,
            { expected: `{"backend":"${r.backend}","method":"PUT","path":"${path}",...,"bodySha256":"${digest}"}`, res },
          );
          res.expectHeader('content-type', /^application\/json/i, 'The backend\'s Content-Type must be passed back.', 'content-type: application/json');

          const post = `/orders/${ctx.random.string(10)}`;
          const json = { item: ctx.random.word(), qty: ctx.random.int(1, 9) };
          const created = await ctx.http.post(post, json);
          created.expectStatus(200, `POST ${post} must be forwarded and the backend's 200 passed back.`);
          const got = pool.requests().filter((x) => x.path === post);
          expectThat(got.length === 1 && got[0].method === 'POST' && got[0].bodyHead.toString('utf8') === JSON.stringify(json), `POST ${post} must reach one backend once, with its JSON body.`, {
            expected: `POST ${post} with ${JSON.stringify(json)}`,
            received: got.map((x) => `${x.backend}: ${x.method} ${x.path} ${x.bodyHead.toString('utf8')}`).join('\n') || 'nothing',
            res: created,
          });
        },
      },
      {
        id: 'round-robin',
        title: 'Requests on separate connections take the backends in turn (round robin)',
        hint: 'Keep a counter; for each request take the next backend in rotation (counter modulo the number of backends), skipping those out of rotation.',
        async run(ctx) {
          await fresh(ctx, { restart: false });
          await distribution(ctx, 'rr', true);
        },
      },
      {
        id: 'per-request',
        title: 'Requests on reused keep-alive connections are balanced too: requests, not connections',
        hint: 'Pick the backend for each request, not once per client connection: many clients keep one connection open for all their requests.',
        async run(ctx) {
          await fresh(ctx, { restart: false });
          await distribution(ctx, 'keepalive', false);
        },
      },
      {
        id: 'passes-errors',
        title: "A backend's answer is passed back whatever its status (500, 503, 404...) and never retried",
        hint: 'Only a connection error (refused, reset) is a failure of the backend; an HTTP answer, even a 500, is the answer: copy it to the client as it is and do not send the request elsewhere.',
        async run(ctx) {
          const pool = await fresh(ctx, { restart: false });
          const statuses = ctx.random.shuffle([500, 503, 404, 409, 201]);
          const plan = new Map(
            pool.backends.map((b, i) => {
              const status = statuses[i % statuses.length];
              const errorId = ctx.random.string(12);
              const body = `backend ${b.name} answers ${status} (${errorId})\n`;
              b.behave({ kind: 'status', status, body, headers: { 'X-Error-Id': errorId } });
              return [b.name, { status, errorId, body }] as const;
            }),
          );
          const prefix = tag(ctx, 'errors');
          const n = NAMES.length * 2;
          for (let i = 0; i < n; i++) {
            const path = `${prefix}/${i}`;
            const res = await attempt(ctx, path, { newConnection: true });
            if (typeof res === 'string') return ctx.fail({ message: 'Every backend is up and answers (with an error status): the balancer must pass the answer back.', received: res });
            const b = servedBy(pool, res, `GET ${path}`);
            const want = plan.get(b.name)!;
            const times = pool.requests().filter((r) => r.path === path);
            expectThat(times.length === 1, `GET ${path} reached ${times.length} backends (${times.map((r) => r.backend).join(', ')}). A backend's HTTP answer, even a 5xx, is not a reason to retry: only connection errors are.`, { expected: 'the request sent to one backend, once', received: times.map((r) => `${r.backend} answered ${plan.get(r.backend)?.status}`).join(', '), res });
            expectThat(
              res.status === want.status && res.text === want.body && res.header('x-error-id') === want.errorId,
              `Backend ${b.name} answered ${want.status} with a body and an X-Error-Id header: pass status, headers and body back as they are (do not turn a backend's 5xx into 502, and do not drop its headers).`,
              { expected: `HTTP ${want.status}, X-Error-Id: ${want.errorId}, body ${JSON.stringify(want.body)}`, res },
            );
          }
          ctx.note(`${n} GETs, each answered as its backend answered it: ${showCounts(countsOf(pool, prefix))}`);
        },
      },
      {
        id: 'slow-backend',
        title: 'A slow backend does not stall requests to the others',
        hint: 'Handle requests concurrently: forward without waiting for earlier requests to finish (no global lock or queue); only the requests that went to the slow backend wait for it.',
        timeoutMs: 20_000,
        async run(ctx) {
          const pool = await fresh(ctx, { restart: false });
          const slow = ctx.random.pick(pool.backends);
          slow.behave({ kind: 'delay', ms: SLOW_MS });
          const prefix = tag(ctx, 'slow');
          const n = NAMES.length * 4;
          const { responses, timing } = await ctx.http.simultaneous(n, (i) => ({ path: `${prefix}/${i}`, timeoutMs: SLOW_MS + 4000 }));
          const failed = responses.filter((r) => r.status === 'rejected');
          if (failed.length > 0) {
            const first = (failed[0] as PromiseRejectedResult).reason;
            ctx.fail({
              message: `${failed.length} of ${n} concurrent GETs got no answer within ${(SLOW_MS + 4000) / 1000} s (backend ${slow.name} takes ${SLOW_MS} ms, the others answer at once). Requests must be forwarded concurrently, not one after another. ${describeTiming(timing)}.`,
              received: first instanceof CheckFailure ? first.details.message : String(first),
            });
          }
          const answers = responses.map((r) => (r as PromiseFulfilledResult<HttpResponse>).value);
          for (const res of answers) res.expectStatus(200, 'Every backend answers 200 (one of them late): pass the answers back.');
          const fast = answers.filter((res) => servedBy(pool, res, 'a concurrent GET') !== slow);
          const late = fast.filter((res) => res.exchange.durationMs > FAST_MS);
          ctx.note(`${n} concurrent GETs, ${answers.length - fast.length} answered by the slow ${slow.name}; the others in ${Math.min(...fast.map((r) => r.exchange.durationMs))}-${Math.max(...fast.map((r) => r.exchange.durationMs))} ms`);
          expectThat(fast.length > 0, `All ${n} concurrent GETs went to backend ${slow.name}; they must be spread over the backends.`, { expected: 'round robin over the five backends' });
          expectThat(
            late.length === 0,
            `While backend ${slow.name} takes ${SLOW_MS} ms to answer, the requests sent to the other backends must not wait for it: ${late.length} of the ${fast.length} answered by other backends took more than ${FAST_MS} ms (the slowest ${Math.max(...late.map((r) => r.exchange.durationMs), 0)} ms). Something in the balancer handles one request at a time. ${describeTiming(timing)}.`,
            { expected: `answers from the fast backends within ${FAST_MS} ms`, received: late.map((r) => `${r.header('x-backend')} after ${r.exchange.durationMs} ms`).join(', ') },
          );
        },
      },
      {
        id: 'active-health',
        title: 'A backend whose health endpoint answers 503 is out of rotation within two probes, and back once it answers 200',
        hint: 'Every HEALTH_INTERVAL_MS, GET HEALTH_PATH on every backend; a 2xx puts it (back) in rotation, anything else (503, a refused connection, a timeout) takes it out.',
        timeoutMs: 20_000,
        async run(ctx) {
          // The first check that takes backends out: the ones before leave every backend in rotation.
          const pool = await fresh(ctx, { restart: false });
          const I = intervalOf(ctx);
          const x = ctx.random.pick(pool.backends);
          x.setHealthy(false);
          await waitProbes(ctx, x, 3, `Backend ${x.name}'s health endpoint answers 503`);
          // The cadence is reported, not asserted: on a busy machine probes come late (and a balancer rightly skips a
          // probe while the previous one is still running). waitProbes already bounds it: 3 probes within 3 x I + 4 s.
          const gaps = x.healthProbes.slice(1).map((t, i) => t - x.healthProbes[i]).sort((a, b) => a - b);
          ctx.note(`health probes of ${x.name} every ~${gaps[Math.floor(gaps.length / 2)] ?? '?'} ms (median; HEALTH_INTERVAL_MS=${I})`);

          const drain = tag(ctx, 'drain');
          const n = NAMES.length * 8;
          for (let i = 0; i < n; i++) {
            const res = await attempt(ctx, `${drain}/${i}`, { newConnection: true });
            if (typeof res === 'string') return ctx.fail({ message: `Four backends are healthy; a GET must be answered.`, received: res });
            res.expectStatus(200, `GET ${drain}/${i} must be answered by a healthy backend (200).`);
          }
          const counts = countsOf(pool, drain);
          ctx.note(`with ${x.name} unhealthy: ${showCounts(counts)}`);
          expectThat(counts[x.name] === 0, `Backend ${x.name}'s health endpoint (${ctx.env.HEALTH_PATH}) has answered 503 to at least two probes, so it must be out of rotation; it still got ${counts[x.name]} of ${n} GETs. A health answer other than 2xx takes a backend out, not only a refused connection.`, {
            expected: `${x.name}: 0`,
            received: showCounts(counts),
          });

          x.setHealthy(true);
          await waitProbes(ctx, x, 3, `Backend ${x.name}'s health endpoint answers 200 again`);
          const sentUntil = await untilReaches(ctx, pool, x, tag(ctx, 'rejoin'), `Backend ${x.name} is healthy again`);
          ctx.note(`${x.name} back in rotation: reached by request ${sentUntil} after its health answered 200 again`);
        },
      },
      {
        id: 'killed-backend',
        title: 'A killed backend: at least 99% of GETs still succeed, and it rejoins once it is back',
        hint: 'A refused or reset connection takes the backend out of rotation at once, and a GET that met it is retried once on another backend; active health checks bring it back when it answers again.',
        timeoutMs: 25_000,
        async run(ctx) {
          const pool = await fresh(ctx);
          const x = ctx.random.pick(pool.backends);
          await x.stop();
          const prefix = tag(ctx, 'killed');
          const n = 100;
          const failures: string[] = [];
          for (let i = 0; i < n; i++) {
            const res = await attempt(ctx, `${prefix}/${i}`);
            if (typeof res === 'string') failures.push(`#${i + 1}: ${res}`);
            else if (res.status !== 200) failures.push(`#${i + 1}: HTTP ${res.status}`);
          }
          ctx.note(`backend ${x.name} stopped: ${n - failures.length} of ${n} GETs succeeded (${showCounts(countsOf(pool, prefix))})`);
          expectThat(failures.length <= n / 100, `Backend ${x.name} was stopped (its port refuses connections). At least 99% of GETs must still succeed: retry a GET that met a connection error once on another backend, and take the dead backend out of rotation. ${failures.length} of ${n} failed.`, {
            expected: `at most ${n / 100} failure`,
            received: failures.slice(0, 5).join('\n') + (failures.length > 5 ? `\n... ${failures.length - 5} more` : ''),
          });

          await x.start();
          await waitProbes(ctx, x, 3, `Backend ${x.name} listens again and its health endpoint answers 200`);
          const sentUntil = await untilReaches(ctx, pool, x, tag(ctx, 'revived'), `Backend ${x.name} was started again`);
          ctx.note(`${x.name} back in rotation: reached by request ${sentUntil}`);
        },
      },
      {
        id: 'retry-idempotent',
        title: 'GET, HEAD, PUT and DELETE that meet a connection error are retried once, on another backend',
        hint: 'When the connection to the backend fails (refused, reset before an answer), send the same request (same body) to the next backend in rotation, once; answer what that one answers.',
        timeoutMs: 20_000,
        async run(ctx) {
          const pool = await fresh(ctx);
          const order = ctx.random.shuffle(pool.backends);
          const methods = ['GET', 'HEAD', 'PUT', 'DELETE'];
          for (const [k, method] of methods.entries()) {
            const bad = order[k];
            bad.behave({ kind: 'reset' });
            const prefix = tag(ctx, `retry-${method.toLowerCase()}`);
            let hit = false;
            for (let i = 0; i < FIND_LIMIT && !hit; i++) {
              const path = `${prefix}/${i}`;
              const body = method === 'PUT' ? JSON.stringify({ n: i, note: ctx.random.string(2000) }) : undefined;
              const res = await attempt(ctx, path, { method, body, headers: body ? { 'Content-Type': 'application/json' } : {}, newConnection: true });
              hit = sent(bad, prefix).some((r) => r.path === path);
              if (typeof res === 'string' || res.status !== 200) {
                const why = hit
                  ? `Backend ${bad.name} reset the connection of ${method} ${path}. ${method} is idempotent: retry it once on another backend and answer what that one answers.`
                  : `${method} ${path} did not even reach the backend that resets connections (${bad.name}); every other backend answers 200.`;
                if (typeof res === 'string') return ctx.fail({ message: why, expected: 'HTTP 200 from another backend', received: res });
                res.fail(why, 'HTTP 200 from another backend');
              }
              if (!hit) continue;
              const at = pool.requests().filter((r) => r.path === path);
              const answeredBy = servedBy(pool, res, `${method} ${path}`);
              expectThat(at.filter((r) => r.backend === bad.name).length === 1 && answeredBy !== bad, `${method} ${path} must be sent to ${bad.name} once and then, after the reset, to another backend.`, { expected: `${bad.name} (reset), then another backend`, received: at.map((r) => r.backend).join(' then '), res });
              const retried = at.filter((r) => r.backend === answeredBy.name);
              if (body !== undefined) {
                const digest = sha256Hex(Buffer.from(body));
                expectThat(retried.length === 1 && retried[0].bodySha256 === digest, `The retried PUT must carry the same body as the first attempt.`, { expected: `${Buffer.byteLength(body)} bytes, sha256 ${digest}`, received: retried.map((r) => `${r.bodyBytes} bytes, sha256 ${r.bodySha256}`).join(', ') || 'nothing', res });
              }
              ctx.note(`${method}: ${bad.name} reset the connection, retried on ${answeredBy.name}`);
            }
            if (!hit) {
              ctx.fail({
                message: `None of ${FIND_LIMIT} ${method} requests reached backend ${bad.name}, which is healthy (its health endpoint answers 200) and was never ejected in this step. Round robin over the backends in rotation.`,
                expected: `one ${method} at ${bad.name}`,
                received: showCounts(countsOf(pool, prefix)),
              });
            }
            bad.behave({ kind: 'echo' });
          }
        },
      },
      {
        id: 'post-not-retried',
        title: 'A POST that meets a connection error is not retried: 502',
        hint: 'A POST may have been processed before the connection broke; sending it again could create the order twice. Retry only GET, HEAD, PUT and DELETE; answer 502 for the rest.',
        timeoutMs: 20_000,
        async run(ctx) {
          const pool = await fresh(ctx);
          const bad = ctx.random.pick(pool.backends);
          bad.behave({ kind: 'reset' });
          const prefix = tag(ctx, 'post');
          for (let i = 0; i < FIND_LIMIT; i++) {
            const path = `${prefix}/${i}`;
            const json = { order: ctx.random.string(10), qty: ctx.random.int(1, 5) };
            const res = await attempt(ctx, path, { method: 'POST', json, newConnection: true });
            const hit = sent(bad, prefix).some((r) => r.path === path);
            const at = pool.requests().filter((r) => r.path === path);
            if (!hit) {
              if (typeof res === 'string') return ctx.fail({ message: `POST ${path} went to a backend that answers normally, yet it failed.`, received: res });
              res.expectStatus(200, `POST ${path} went to a backend that answers 200: pass its answer back.`);
              continue;
            }
            expectThat(at.length === 1, `POST ${path} met a reset connection at ${bad.name} and was sent again to ${at.slice(1).map((r) => r.backend).join(', ')}. A POST is not idempotent: the first backend may have created the order already. Never retry a POST.`, {
              expected: `POST sent once (to ${bad.name}), then 502`,
              received: at.map((r) => r.backend).join(' then '),
            });
            if (typeof res === 'string') return ctx.fail({ message: `POST ${path} met a reset connection at ${bad.name}: answer 502 Bad Gateway (do not drop the client's connection).`, expected: 'HTTP 502', received: res });
            res.expectStatus(502, `POST ${path} met a reset connection at ${bad.name} and must not be retried: answer 502 Bad Gateway.`);
            ctx.note(`POST ${path} reset by ${bad.name}: 502, not retried`);
            return;
          }
          ctx.fail({ message: `None of ${FIND_LIMIT} POSTs reached backend ${bad.name}, which is healthy. Round robin over the backends in rotation.`, received: showCounts(countsOf(pool, prefix)) });
        },
      },
      {
        id: 'passive-ejection',
        title: 'A connection error takes a backend out of rotation until its health check passes again',
        hint: 'Passive health checking: when a connection to a backend fails, mark it down at once; only a passing health probe puts it back (do not wait for the next active probe to find out it is down).',
        timeoutMs: 20_000,
        async run(ctx) {
          const pool = await fresh(ctx, { restart: true, env: { HEALTH_INTERVAL_MS: String(PASSIVE_INTERVAL_MS) } });
          const bad = ctx.random.pick(pool.backends);
          bad.behave({ kind: 'reset' });
          const prefix = tag(ctx, 'passive');
          const n = NAMES.length * 12;
          for (let i = 0; i < n; i++) {
            const res = await attempt(ctx, `${prefix}/${i}`, { newConnection: true });
            if (typeof res === 'string') return ctx.fail({ message: `Backend ${bad.name} resets connections and the others answer 200: a GET must be answered (200, or 502 if it was not retried), not cut.`, received: res });
            res.expectStatus([200, 502], `GET ${prefix}/${i}: the backends answer 200 except ${bad.name}, which resets connections.`);
          }
          const got = sent(bad, prefix);
          const paths = new Set(got.map((r) => r.path));
          expectThat(got.length > 0, `None of ${n} GETs reached backend ${bad.name}, which was in rotation.`, { received: showCounts(countsOf(pool, prefix)) });
          const since = got[0].at - 2 * PASSIVE_INTERVAL_MS;
          const probes = bad.healthProbes.filter((t) => t >= since).length;
          ctx.note(`${bad.name} (resets connections, health 200) got ${paths.size} of ${n} GETs; ${probes} health probe(s) of it passed meanwhile (HEALTH_INTERVAL_MS=${PASSIVE_INTERVAL_MS} for this check)`);
          expectThat(paths.size <= 1 + probes, `Backend ${bad.name} reset the connection of the first request it got: it must be out of rotation from then on until one of its health probes passes. It got ${paths.size} of ${n} GETs while only ${probes} probe(s) passed, so connection errors do not take it out.`, {
            expected: `at most ${1 + probes} request(s) at ${bad.name}`,
            received: showCounts(countsOf(pool, prefix)),
          });
        },
      },
      {
        id: 'all-down',
        title: 'With no backend in rotation: 503 with Retry-After, and nothing forwarded',
        hint: 'When no backend is in rotation, answer 503 Service Unavailable with `Retry-After: <seconds>` at once, without trying any backend; never fall back to backends whose health check fails.',
        timeoutMs: 20_000,
        async run(ctx) {
          const pool = await fresh(ctx);
          const I = intervalOf(ctx);
          await Promise.all(pool.backends.map((b) => b.stop()));
          const prefix = tag(ctx, 'down');
          const budget = 2 * I + 3000;
          const until = performance.now() + budget;
          let unavailable: HttpResponse | undefined;
          const seen: string[] = [];
          for (let i = 0; !unavailable; i++) {
            const res = await attempt(ctx, `${prefix}/${i}`, { newConnection: true });
            if (typeof res === 'string') return ctx.fail({ message: 'Every backend is stopped: answer 503 (or 502 while it finds out), do not drop the connection.', received: res });
            seen.push(String(res.status));
            if (res.status === 503) unavailable = res;
            else if (res.status !== 502) res.fail('Every backend is stopped (connections refused): the answer is 502 while a request meets a dead backend, then 503 once none is in rotation.', 'HTTP 503 (or 502)');
            else if (performance.now() > until) {
              res.fail(
                `Every backend was stopped ${budget} ms ago and their health probes fail, so none is in rotation; the balancer still answers ${res.status}. With no backend in rotation answer 503 Service Unavailable with Retry-After.`,
                'HTTP 503 with Retry-After',
              );
            } else await ctx.sleep(Math.max(20, I / 4));
          }
          unavailable.expectHeader('retry-after', /^\d+$/, 'A 503 because no backend is available must say when to try again: `Retry-After` with a number of seconds.', 'retry-after: <integer seconds>, e.g. 1');
          ctx.note(`all stopped: ${seen.join(' ')}`);

          // Every backend listens again but reports itself unhealthy: still none in rotation, nothing forwarded.
          for (const b of pool.backends) b.setHealthy(false);
          await Promise.all(pool.backends.map((b) => b.start()));
          await Promise.all(pool.backends.map((b) => waitProbes(ctx, b, 3, `Backend ${b.name} listens again, its health answering 503`)));
          const still = tag(ctx, 'unhealthy');
          for (let i = 0; i < 3; i++) {
            const res = await ctx.http.get(`${still}/${i}`, { newConnection: true });
            const reached = pool.requests().filter((r) => r.path.startsWith(`${still}/`));
            expectThat(reached.length === 0, `Every backend's health endpoint answers 503, so none is in rotation: do not forward to them (no fail-open).`, { expected: 'no request forwarded, 503', received: reached.map((r) => `${r.backend}: ${r.method} ${r.path}`).join('\n'), res });
            res.expectStatus(503, 'Every backend is listening but its health endpoint answers 503: none is in rotation, so answer 503.');
            res.expectHeader('retry-after', /^\d+$/, 'The 503 must carry `Retry-After` with a number of seconds.', 'retry-after: <integer seconds>');
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
