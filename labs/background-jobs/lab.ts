import type { ServerResponse } from 'node:http';
import { CheckFailure, defineLab, expectJson, expectThat, HostedByEnv, type CheckContext, type EnvContext, type HostedRequest } from '../../grader/index.ts';

// --- the dependency the grader hosts -----------------------------------------------------------------

/** How the dependency answers for one `n` (the grader picks a fresh n per scenario). */
type Script = { mode: 'ok' } | { mode: 'flaky'; failures: number } | { mode: 'poison' } | { mode: 'hold' };

interface Call {
  report: string;
  n: number;
  at: number;
  /** When the answer went out (undefined while held). */
  answeredAt?: number;
  status?: number;
}

/** GET /quote?report=<id>&n=<n>: takes WORK_MS, answers {"value": n * 1.5} (or fails, as scripted per n). */
class Dependency {
  readonly started = performance.now();
  readonly scripts = new Map<number, Script>();
  readonly calls: Call[] = [];
  private held: { call: Call; res: ServerResponse }[] = [];
  private heldWaiters: ((c: Call) => void)[] = [];

  constructor(readonly workMs: number) {}

  now(): number {
    return Math.round(performance.now() - this.started);
  }

  static value(n: number): number {
    return n * 1.5;
  }

  handle(req: HostedRequest, res: ServerResponse): void {
    const url = new URL(req.path, 'http://x');
    if (url.pathname !== '/quote') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"GET /quote?report=<id>&n=<n>"}');
      return;
    }
    const n = Number(url.searchParams.get('n'));
    const call: Call = { report: url.searchParams.get('report') ?? '', n, at: this.now() };
    this.calls.push(call);
    const script = this.scripts.get(n) ?? { mode: 'ok' };
    const previous = this.calls.filter((c) => c.n === n).length - 1;
    const answer = (status: number, body: object) => {
      if (res.destroyed) return;
      call.answeredAt = this.now();
      call.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    if (script.mode === 'hold') {
      this.held.push({ call, res });
      for (const w of this.heldWaiters.splice(0)) w(call);
      return;
    }
    setTimeout(() => {
      if (script.mode === 'poison') answer(500, { error: `report ${call.report} cannot be computed` });
      else if (script.mode === 'flaky' && previous < script.failures) answer(503, { error: 'try again later' });
      else answer(200, { value: Dependency.value(n) });
    }, this.workMs);
  }

  /** Resolves with the next held call (a job in the middle of its work). */
  nextHeld(timeoutMs: number): Promise<Call | undefined> {
    const waiting = this.held.find((h) => h.call.answeredAt === undefined && !h.res.destroyed);
    if (waiting) return Promise.resolve(waiting.call);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), timeoutMs);
      this.heldWaiters.push((c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
  }

  /** Answers every held call of `n` (200 with the value), and lets the next ones through. */
  release(n: number): void {
    this.scripts.set(n, { mode: 'ok' });
    for (const h of this.held.filter((x) => x.call.n === n)) {
      if (!h.res.destroyed) {
        h.call.answeredAt = this.now();
        h.call.status = 200;
        h.res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ value: Dependency.value(n) }));
      }
    }
    this.held = this.held.filter((x) => x.call.n !== n);
  }

  callsFor(n: number): Call[] {
    return this.calls.filter((c) => c.n === n);
  }
}

const dependencies = new HostedByEnv<Dependency>('DEPENDENCY_URL');
const WORK_MS = 400;

function hostDependency(run: EnvContext): Promise<string> {
  const d = new Dependency(WORK_MS);
  return dependencies.host(run, d, (req, res) => d.handle(req, res));
}

// --- helpers -----------------------------------------------------------------------------------------

const num = (ctx: CheckContext, name: 'RETRY_BASE_MS' | 'MAX_ATTEMPTS' | 'LEASE_MS') => Number(ctx.env[name]);

interface Report {
  id: string;
  status: string;
  attempts?: number;
  result?: number;
  error?: string;
}

/** A fresh n for a scenario (unique in the run, so the dependency's log per n is this scenario's). */
function freshN(ctx: CheckContext, d: Dependency, script: Script): number {
  for (;;) {
    const n = ctx.random.int(1, 1000);
    if (!d.scripts.has(n) && d.callsFor(n).length === 0) {
      d.scripts.set(n, script);
      return n;
    }
  }
}

async function create(ctx: CheckContext, n: number): Promise<{ id: string; location: string; ms: number }> {
  const t0 = performance.now();
  const res = await ctx.http.post('/reports', { n });
  const ms = Math.round(performance.now() - t0);
  const body = expectJson(res, 202, `POST /reports {"n": ${n}} must accept the job for later: 202 Accepted (not 200/201: nothing is done yet).`);
  const location = res.header('location');
  expectThat(typeof body?.id === 'string' && body.id !== '' && location === `/reports/${body.id}`, 'The 202 carries the job\'s `id` (a string) and a `Location: /reports/<id>` header where its status can be read.', {
    expected: '{"id": "<id>", "status": "pending"} and Location: /reports/<id>',
    res,
  });
  expectThat(body.status === 'pending', 'A job just accepted is "pending".', { expected: '"status": "pending"', received: `"status": ${JSON.stringify(body.status)}`, res });
  return { id: body.id as string, location: location!, ms };
}

async function status(ctx: CheckContext, id: string): Promise<Report> {
  const res = await ctx.http.get(`/reports/${id}`);
  const body = expectJson(res, 200, `GET /reports/${id} must answer 200 with the job's status.`);
  expectThat(['pending', 'running', 'done', 'failed'].includes(body?.status), 'The status is one of "pending", "running", "done", "failed".', { expected: '{"id", "status": "pending" | "running" | "done" | "failed", ...}', res });
  return body as Report;
}

/** Polls until the job is `want` (or any final status), at most `timeoutMs`. */
async function until(ctx: CheckContext, id: string, want: string[], timeoutMs: number): Promise<Report> {
  const deadline = performance.now() + timeoutMs;
  let last = await status(ctx, id);
  while (!want.includes(last.status) && performance.now() < deadline) {
    await ctx.sleep(40);
    last = await status(ctx, id);
  }
  return last;
}

function expectDone(r: Report, n: number, why: string): void {
  if (r.status !== 'done' || r.result !== Dependency.value(n)) {
    throw new CheckFailure({
      message: `${why} Report ${r.id} must end "done" with "result": ${Dependency.value(n)} (the dependency's value for n = ${n}).`,
      expected: `{"id": "${r.id}", "status": "done", "result": ${Dependency.value(n)}}`,
      received: JSON.stringify(r),
    });
  }
}

function callLog(d: Dependency, n: number): string {
  const calls = d.callsFor(n);
  if (calls.length === 0) return '(no call to the dependency)';
  return calls.map((c, i) => `call ${i + 1} at ${c.at} ms -> ${c.status ?? 'no answer (held or cut)'}${c.answeredAt !== undefined ? ` at ${c.answeredAt} ms` : ''}`).join('\n');
}

/** A job whose dependency call the grader holds open: the worker is in the middle of it. */
async function jobInFlight(ctx: CheckContext, d: Dependency): Promise<{ n: number; id: string }> {
  const n = freshN(ctx, d, { mode: 'hold' });
  const { id } = await create(ctx, n);
  if (!(await d.nextHeld(4000))) throw new CheckFailure({ message: `The worker did not call the dependency for report ${id} within 4 s.`, expected: `GET /quote?report=${id}&n=${n}`, received: callLog(d, n) });
  return { n, id };
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'background-jobs',
    title: 'Background jobs: an API, a worker, and a queue in PostgreSQL',
    track: 'async',
    summary: 'Accept work with 202 and do it in a separate worker process: statuses, a lease that survives kill -9, retries with exponential backoff, poison jobs that fail for good, and a graceful shutdown.',
    difficulty: 'advanced',
    estimatedMinutes: 120,
    questions: [26],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check, run before
    // the last check (which stops the server: it would be started again for it).
    malformedRequests: { paths: ['/reports/'], before: 'graceful-shutdown' },
    services: ['postgres'],
    roles: ['api', 'worker'],
    env: {
      DEPENDENCY_URL: {
        description: `The service the work needs (hosted by the grader): GET {DEPENDENCY_URL}/quote?report=<id>&n=<n> takes about ${WORK_MS} ms and answers {"value": <number>}, or fails (5xx) when it is having a bad day.`,
        value: (_r, run) => hostDependency(run),
      },
      RETRY_BASE_MS: {
        description: 'The delay before the first retry of a failed attempt, in ms; retry k waits RETRY_BASE_MS * 2^(k-1). The grader picks 150 to 250.',
        value: (r) => String(r.int(150, 250)),
      },
      MAX_ATTEMPTS: {
        description: 'Attempts in all (the first one included) before a job fails for good. The grader picks 3 or 4.',
        value: (r) => String(r.int(3, 4)),
      },
      LEASE_MS: {
        description: 'How long a worker may hold a job: a job still "running" after that (its worker died) is taken again. The grader uses 2500.',
        value: () => '2500',
      },
    },
    checks: [
      {
        id: 'accepted',
        title: 'POST /reports answers 202 with Location at once; GET /reports/<id> tells the status',
        hint: 'Insert the job (status "pending") and answer 202 Accepted with {"id", "status": "pending"} and `Location: /reports/<id>` straight away; the worker does the slow part later. Unknown ids are 404.',
        async run(ctx) {
          const d = dependencies.of(ctx);
          const n = freshN(ctx, d, { mode: 'ok' });
          const { id, ms } = await create(ctx, n);
          expectThat(ms < WORK_MS, `POST /reports took ${ms} ms, as long as the work itself (the dependency takes ${WORK_MS} ms): accept the job and answer at once, and let the worker do the work.`, { expected: `a 202 within ${WORK_MS} ms`, received: `${ms} ms` });
          const r = await status(ctx, id);
          expectThat(r.id === id, `GET /reports/${id} must describe that job.`, { expected: `"id": "${id}"`, received: JSON.stringify(r) });
          expectJson(await ctx.http.get('/reports/999999999'), 404, 'GET /reports/999999999: no such job, so the answer is 404.');
          expectJson(await ctx.http.post('/reports', { n: String(n) }), 400, 'POST /reports {"n": "..."}: n must be an integer (a string is not), so the answer is 400.');
          await until(ctx, id, ['done', 'failed'], WORK_MS + 3000);
        },
      },
      {
        id: 'worker-does-it',
        title: 'The worker process does the work: paused, nothing happens; resumed, the job is done',
        hint: 'The API only records the job. A separate process (`npm run worker`) takes pending jobs from the database, calls the dependency and stores the result.',
        timeoutMs: 20_000,
        async run(ctx) {
          const d = dependencies.of(ctx);
          const worker = ctx.process('worker');
          const n = freshN(ctx, d, { mode: 'ok' });
          worker.pause();
          let id: string;
          try {
            id = (await create(ctx, n)).id;
            await ctx.sleep(WORK_MS + 600);
            const r = await status(ctx, id);
            if (r.status === 'done' || d.callsFor(n).length > 0) {
              throw new CheckFailure({ message: `With the worker paused (SIGSTOP), report ${id} was worked on anyway: the API process must not do the work itself.`, expected: '"status": "pending" and no call to the dependency', received: `${JSON.stringify(r)}\n${callLog(d, n)}` });
            }
          } finally {
            worker.resume();
          }
          const r = await until(ctx, id, ['done', 'failed'], WORK_MS + 4000);
          expectDone(r, n, 'Once the worker runs again, it takes the pending job.');
          expectThat(d.callsFor(n).length === 1, `The dependency must be called once for report ${id}, not ${d.callsFor(n).length} times.`, { expected: '1 call', received: callLog(d, n) });
        },
      },
      {
        id: 'statuses',
        title: 'A job is "running" while the worker is on it, then "done" with its result',
        hint: 'When the worker takes a job, set it "running" (and count the attempt) in the same statement that claims it; after the work, "done" with the result.',
        timeoutMs: 15_000,
        async run(ctx) {
          const d = dependencies.of(ctx);
          const { n, id } = await jobInFlight(ctx, d);
          try {
            const during = await status(ctx, id);
            expectThat(during.status === 'running', `While the worker waits for the dependency (the grader holds the answer), report ${id} must be "running".`, { expected: '"status": "running"', received: JSON.stringify(during) });
            expectThat(during.attempts === 1, 'During its first attempt a job has "attempts": 1.', { expected: '"attempts": 1', received: JSON.stringify(during) });
          } finally {
            d.release(n); // also when the check fails: a held call would hold up the next checks' jobs
          }
          expectDone(await until(ctx, id, ['done', 'failed'], 3000), n, 'The dependency answered.');
        },
      },
      {
        id: 'worker-crash',
        title: 'kill -9 of the worker in the middle of a job: after a restart the job is done anyway',
        hint: 'A claimed job carries a lease (`locked_until = now() + LEASE_MS`); the worker also takes "running" jobs whose lease has run out. A job held by a dead worker is then done by the next one.',
        timeoutMs: 20_000,
        async run(ctx) {
          const d = dependencies.of(ctx);
          const worker = ctx.process('worker');
          const { n, id } = await jobInFlight(ctx, d);
          try {
            await worker.kill('SIGKILL');
          } finally {
            d.release(n); // the next attempt gets its answer
          }
          await worker.restart();
          const budget = num(ctx, 'LEASE_MS') + WORK_MS + 3000;
          const r = await until(ctx, id, ['done', 'failed'], budget);
          expectDone(r, n, `The worker was killed (SIGKILL) while report ${id} was running, then restarted: within ${budget} ms (LEASE_MS + the work + 3 s) the job must be taken again and finished.`);
        },
      },
      {
        id: 'retry-backoff',
        title: 'A failed attempt is retried after RETRY_BASE_MS, then 2 x, 4 x...',
        hint: 'On a failure (a 5xx, a timeout), if attempts < MAX_ATTEMPTS put the job back to "pending" with `run_after = now() + RETRY_BASE_MS * 2^(attempts-1)`; the worker only takes jobs whose run_after has passed.',
        timeoutMs: 20_000,
        async run(ctx) {
          const d = dependencies.of(ctx);
          const base = num(ctx, 'RETRY_BASE_MS');
          const n = freshN(ctx, d, { mode: 'flaky', failures: 2 });
          const { id } = await create(ctx, n);
          const r = await until(ctx, id, ['done', 'failed'], 3 * WORK_MS + 7 * base + 4000);
          expectDone(r, n, 'The dependency failed twice (503), then answered.');
          const calls = d.callsFor(n);
          expectThat(calls.length === 3, `Report ${id}: two failures and a success make 3 calls to the dependency.`, { expected: '3 calls', received: callLog(d, n) });
          const gaps = [calls[1]!.at - calls[0]!.answeredAt!, calls[2]!.at - calls[1]!.answeredAt!];
          const want = [base, 2 * base];
          const ok = gaps.every((g, i) => g >= want[i]! * 0.9 && g <= want[i]! * 3 + 500);
          ctx.note(`waits before the retries: ${gaps.join(' ms, ')} ms (RETRY_BASE_MS ${base}: expected about ${want.join(' and ')})`);
          if (!ok) throw new CheckFailure({ message: `The waits before retry 1 and retry 2 must be about RETRY_BASE_MS (${base} ms) and twice that (${2 * base} ms): exponential backoff, neither immediate nor fixed.`, expected: `about ${want[0]} ms, then about ${want[1]} ms`, received: `${gaps[0]} ms, then ${gaps[1]} ms\n${callLog(d, n)}` });
        },
      },
      {
        id: 'poison',
        title: 'A job that always fails is "failed" after MAX_ATTEMPTS attempts, with the reason',
        hint: 'Count attempts; when the last allowed one fails, set status "failed" and keep the error message ("error" in GET /reports/<id>). Never retry forever: a poison job would eat the worker\'s time.',
        timeoutMs: 25_000,
        async run(ctx) {
          const d = dependencies.of(ctx);
          const base = num(ctx, 'RETRY_BASE_MS');
          const max = num(ctx, 'MAX_ATTEMPTS');
          const n = freshN(ctx, d, { mode: 'poison' });
          const { id } = await create(ctx, n);
          const budget = max * WORK_MS + base * (2 ** max) + 4000;
          const r = await until(ctx, id, ['done', 'failed'], budget);
          expectThat(r.status === 'failed', `The dependency always answers 500 for report ${id}: after MAX_ATTEMPTS (${max}) attempts it must be "failed" (within ${budget} ms).`, { expected: '"status": "failed"', received: `${JSON.stringify(r)}\n${callLog(d, n)}` });
          expectThat(typeof r.error === 'string' && r.error !== '', 'A failed job says why: a non-empty "error".', { expected: '"error": "<the last failure>"', received: JSON.stringify(r) });
          expectThat(r.attempts === max, `A failed job made exactly MAX_ATTEMPTS (${max}) attempts.`, { expected: `"attempts": ${max}`, received: JSON.stringify(r) });
          await ctx.sleep(2 * base);
          const calls = d.callsFor(n).length;
          expectThat(calls === max, `Exactly MAX_ATTEMPTS (${max}) calls to the dependency for a job that always fails, and none once it is failed.`, { expected: `${max} calls`, received: callLog(d, n) });
        },
      },
      {
        id: 'graceful-shutdown',
        title: 'SIGTERM to the worker mid-job: it finishes (or hands back) the job and exits; nothing waits for the lease',
        hint: 'On SIGTERM stop taking new jobs, let the one in hand finish (or set it back to "pending"), then exit. Killed without that, the job would stay "running" until its lease runs out.',
        timeoutMs: 25_000,
        async run(ctx) {
          const d = dependencies.of(ctx);
          const worker = ctx.process('worker');
          const { n, id } = await jobInFlight(ctx, d);
          const stopping = worker.kill('SIGTERM');
          try {
            await ctx.sleep(200);
          } finally {
            d.release(n); // the job in hand can finish now
          }
          const t0 = performance.now();
          const exit = await stopping;
          const took = Math.round(performance.now() - t0);
          ctx.note(`the worker exited ${took} ms after the dependency answered (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`})`);
          // Once the worker is gone the job is done (finished before exiting) or pending (handed back): never
          // still "running", which would wait out its lease. Judged on the state at exit, not on how fast the
          // restarted process boots (a loaded machine can take seconds to start it).
          const atExit = await status(ctx, id);
          ctx.note(`report ${id} was "${atExit.status}" once the worker had exited`);
          if (atExit.status === 'running') {
            throw new CheckFailure({
              message: `The worker got SIGTERM while report ${id} was running and exited, leaving the job "running": it would wait until its lease (LEASE_MS ${num(ctx, 'LEASE_MS')}) runs out. Finish the job in hand before exiting, or set it back to "pending".`,
              expected: '"status": "done" (finished) or "pending" (handed back) once the worker has exited',
              received: JSON.stringify(atExit),
            });
          }
          await worker.restart();
          const budget = num(ctx, 'LEASE_MS') + WORK_MS + 3000;
          const r = await until(ctx, id, ['done', 'failed'], budget);
          expectDone(r, n, `The worker got SIGTERM while report ${id} was running (it was "${atExit.status}" when the worker exited), and was started again:`);
        },
      },
    ],
  },
  import.meta.dirname,
);
