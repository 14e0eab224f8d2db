// The engine against misbehaving learner servers: each scenario must end with the right status and a
// clear message within its budget, and leave no process behind.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineLab, expectJson, expectEqual } from '../../grader/index.ts';
import { runLab, type RunOptions } from '../../grader/run.ts';
import type { RunEvent, RunResult } from '../../grader/events.ts';
import { groupAlive } from '../../grader/runtime/process-group.ts';
import { formatCheck, formatSummary, textReporter } from '../../grader/report/text.ts';
import { palette } from '../../grader/report/colour.ts';
import { checkViewReducer, initialCheckView, waitingLine } from '../../cli/tui/check-state.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'servers');

const lab = defineLab(
  {
    id: 'engine-scenario',
    title: 'Engine scenario',
    track: 'foundations',
    summary: 'A lab used only to test the engine.',
    difficulty: 'beginner',
    estimatedMinutes: 1,
    questions: [32],
    checks: [
      {
        id: 'health',
        title: 'GET /health',
        hint: 'Answer {"status":"ok"}.',
        timeoutMs: 4000,
        async run({ http }) {
          const res = await http.get('/health');
          expectEqual(expectJson(res, 200), { status: 'ok' }, 'health body', res);
        },
      },
      {
        id: 'health-again',
        title: 'GET /health again',
        hint: 'Keep answering.',
        timeoutMs: 4000,
        async run({ http }) {
          const res = await http.get('/health');
          expectJson(res, 200);
        },
      },
    ],
  },
  FIXTURES,
);

interface Outcome {
  result: RunResult;
  events: RunEvent[];
  /** When each event arrived (performance.now()). */
  at: Map<RunEvent, number>;
  pids: number[];
  elapsedMs: number;
}

async function scenario(server: string, options: Partial<RunOptions> = {}, during?: (run: ReturnType<typeof runLab>, events: RunEvent[]) => void): Promise<Outcome> {
  const started = performance.now();
  const run = runLab({ lab, dir: FIXTURES, startCommand: `node ${server}`, seed: 42, readyTimeoutMs: 3000, requestTimeoutMs: 1500, ...options });
  const events: RunEvent[] = [];
  const at = new Map<RunEvent, number>();
  const pids: number[] = [];
  run.on((e) => {
    events.push(e);
    at.set(e, performance.now());
    if (e.type === 'server-start' && e.pid) pids.push(e.pid);
    during?.(run, events);
  });
  const result = await run.result;
  return { result, events, at, pids, elapsedMs: performance.now() - started };
}

/** From the server's line matching `line` (it prints it once it listens) to the start of teardown. */
function msFromLineToVerdict(o: Outcome, line: RegExp): number {
  const printed = o.events.find((e) => e.type === 'server-output' && line.test(e.line));
  const teardown = o.events.find((e) => e.type === 'phase' && e.phase === 'teardown');
  expect(printed, `the server printed ${line}`).toBeDefined();
  return o.at.get(teardown!)! - o.at.get(printed!)!;
}

function expectNothingLeft(o: Outcome) {
  expect(o.pids.length).toBeGreaterThan(0);
  for (const pid of o.pids) expect(groupAlive(pid), `process group ${pid} still alive`).toBe(false);
}

describe('engine scenarios', () => {
  it('a good server passes, with the seed and timings reported', async () => {
    const o = await scenario('ok.js');
    expect(o.result.status).toBe('pass');
    expect(o.result.exitCode).toBe(0);
    expect(o.result.seed).toBe(42);
    expect(o.result.timings.readyMs).toBeGreaterThan(0);
    expect(o.events[0].type).toBe('run-start');
    expect(o.events.at(-1)?.type).toBe('run-end');
    expectNothingLeft(o);
  });

  it('crashes at start: error (exit 2), says it exited before listening, shows its output', async () => {
    const o = await scenario('crash-at-start.js');
    expect(o.result.status).toBe('error');
    expect(o.result.exitCode).toBe(2);
    expect(o.result.message).toMatch(/exited before it listened on port \d+ \(exit code 1\)/);
    expect(o.result.serverOutput.join('\n')).toContain('simulated crash at start');
    expect(o.result.checks.every((c) => c.status === 'skip')).toBe(true);
    expect(o.elapsedMs).toBeLessThan(3000);
    expectNothingLeft(o);
  });

  it('listens on [::1]:PORT only: error (exit 2) in one line naming [::1]:PORT and the fix, within 3 s', async () => {
    const o = await scenario('ipv6-only.js', { readyTimeoutMs: 20_000 });
    expect(o.result.status).toBe('error');
    expect(o.result.exitCode).toBe(2);
    const port = o.result.port!;
    expect(o.result.message).toContain(`listens on [::1]:${port} only`);
    expect(o.result.message).toMatch(/listen\(PORT, '0\.0\.0\.0'\)/);
    expect(o.result.message).not.toContain('\n');
    expect(msFromLineToVerdict(o, /listening on \[::1\]/)).toBeLessThan(3000);
    expect(o.elapsedMs).toBeLessThan(3000);
    expect(o.result.checks.every((c) => c.status === 'skip')).toBe(true);
    expectNothingLeft(o);
  });

  it('listens on another port than PORT: error (exit 2) naming the port it listens on, within 3 s', async () => {
    const o = await scenario('wrong-port.js', { readyTimeoutMs: 20_000 });
    expect(o.result.status).toBe('error');
    expect(o.result.exitCode).toBe(2);
    const printed = /listening on (\d+)/.exec(o.result.serverOutput.join('\n'));
    expect(printed, 'the fixture prints its port').not.toBeNull();
    const actual = Number(printed![1]);
    expect(actual).not.toBe(o.result.port);
    expect(o.result.message).toContain(`listens on port ${actual} (0.0.0.0:${actual}), not on port ${o.result.port} from the PORT environment variable`);
    expect(o.result.message).not.toContain('\n');
    expect(msFromLineToVerdict(o, /listening on \d+/)).toBeLessThan(3000);
    expect(o.elapsedMs).toBeLessThan(4000);
    expectNothingLeft(o);
  });

  it('slow to start: says it is still waiting, with the last line it printed, then passes', async () => {
    const o = await scenario('slow-start.js', { readyTimeoutMs: 10_000, env: { SLOW_START_MS: '2300' } });
    expect(o.result.status).toBe('pass');
    const waiting = o.events.filter((e): e is Extract<RunEvent, { type: 'server-waiting' }> => e.type === 'server-waiting');
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(waiting[0].ms).toBeGreaterThanOrEqual(900);
    expect(waiting[0].port).toBe(o.result.port);
    expect(waiting.at(-1)?.lastLine).toBe('still compiling, almost there');
    // every waiting event comes before the server is ready
    expect(o.events.findIndex((e) => e.type === 'server-ready')).toBeGreaterThan(o.events.lastIndexOf(waiting.at(-1)!));
    // the plain reporter turns the 2 s one into a line
    let text = '';
    const report = textReporter({ write: (t) => (text += t), colour: false });
    for (const e of o.events) report(e);
    expect(text).toMatch(/Still waiting for your server to listen on port \d+ \(2 s\); its last line: still compiling, almost there/);
    // and the live view's waiting line shows it while it waits
    let view = initialCheckView();
    for (const e of o.events.slice(0, o.events.lastIndexOf(waiting.at(-1)!) + 1)) view = checkViewReducer(view, { type: 'event', event: e, at: 0 });
    expect(waitingLine(view)).toBe(`Waiting for your server to listen on port ${o.result.port} · its last line: still compiling, almost there`);
    expectNothingLeft(o);
  });

  it('prints a 10 kB line: reports cut it to 300 characters and say how much was left out', async () => {
    const o = await scenario('long-line.js');
    expect(o.result.status).toBe('fail');
    const check = o.result.checks[0];
    const long = check.serverOutput!.find((l) => l.startsWith('request log: '))!;
    expect(long).toBe(`request log: ${'x'.repeat(287)}… (9713 more characters)`);
    const formatted = formatCheck(check, palette(false)) + formatSummary(o.result, palette(false));
    expect(formatted).toContain('… (9713 more characters)');
    expect(Math.max(...formatted.split('\n').map((l) => l.length))).toBeLessThan(400);
    expectNothingLeft(o);
  });

  it('never listens on PORT: error (exit 2) after the ready budget, naming PORT', async () => {
    const o = await scenario('never-listens.js', { readyTimeoutMs: 1500 });
    expect(o.result.exitCode).toBe(2);
    expect(o.result.message).toMatch(/did not listen on port \d+ within 2 s.*PORT/s);
    expect(o.elapsedMs).toBeGreaterThan(1400);
    expect(o.elapsedMs).toBeLessThan(1500 + 3000);
    expectNothingLeft(o);
  });

  it('listens then hangs: the check fails with a timeout message within its budget', async () => {
    const o = await scenario('hangs.js', { all: false });
    expect(o.result.status).toBe('fail');
    expect(o.result.exitCode).toBe(1);
    const first = o.result.checks[0];
    expect(first.failure?.message).toMatch(/No complete response within 1500 ms/);
    expect(first.failure?.exchange?.request.url).toMatch(/\/health$/);
    expect(first.durationMs).toBeLessThan(3000);
    expect(o.result.checks[1].status).toBe('skip');
    expectNothingLeft(o);
  });

  it('resets connections: fails saying the connection was reset', async () => {
    const o = await scenario('resets.js');
    expect(o.result.exitCode).toBe(1);
    expect(o.result.checks[0].failure?.message).toMatch(/closed or reset the connection/);
    expectNothingLeft(o);
  });

  it('sends garbage bytes: fails saying the reply is not valid HTTP', async () => {
    const o = await scenario('garbage.js');
    expect(o.result.exitCode).toBe(1);
    expect(o.result.checks[0].failure?.message).toMatch(/not valid HTTP/);
    expectNothingLeft(o);
  });

  it('sends a 100 MB body: reads at most 1 MiB, fails cleanly and fast', async () => {
    const o = await scenario('huge-body.js');
    expect(o.result.exitCode).toBe(1);
    const f = o.result.checks[0].failure!;
    expect(f.exchange?.response?.truncated).toBe(true);
    expect(f.exchange?.response?.bytes).toBe(1024 * 1024);
    expect(o.result.checks[0].durationMs).toBeLessThan(3000);
    expectNothingLeft(o);
  });

  it('exits mid-run: the check says the server crashed, with its last lines; --all restarts it', async () => {
    const o = await scenario('exits-mid-run.js', { all: true });
    expect(o.result.exitCode).toBe(1);
    const second = o.result.checks[1];
    expect(second.status).toBe('fail');
    expect(second.failure?.message).toMatch(/crashed while handling this request \(exit code 3\)|exited during this check \(exit code 3\)/);
    expect(second.serverOutput?.join('\n')).toContain('out of cheese');
    expectNothingLeft(o);
  });

  it('ignores SIGTERM (and so does its child): teardown escalates to SIGKILL after 2 s, nothing left', async () => {
    const o = await scenario('stubborn.js');
    expect(o.result.status).toBe('pass');
    expect(o.result.timings.teardownMs).toBeGreaterThanOrEqual(1900);
    expect(o.result.timings.teardownMs).toBeLessThan(4500);
    expectNothingLeft(o);
  });

  it('Ctrl-C during a check: stops, tears down, exit 130, nothing left', async () => {
    const o = await scenario('hangs.js', { requestTimeoutMs: 30_000 }, (run, events) => {
      const last = events.at(-1);
      if (last?.type === 'check-start') setTimeout(() => run.abort('Ctrl-C'), 200);
    });
    expect(o.result.exitCode).toBe(130);
    expect(o.result.message).toMatch(/Ctrl-C/);
    expect(o.elapsedMs).toBeLessThan(5000);
    expectNothingLeft(o);
  });

  it('a check that throws something other than a CheckFailure is reported as a grader bug (exit 4)', async () => {
    const buggy = defineLab({ ...lab, checks: [{ id: 'buggy', title: 'buggy', hint: 'n/a', async run() { (undefined as any).x; } }] }, FIXTURES);
    const run = runLab({ lab: buggy, dir: FIXTURES, startCommand: 'node ok.js', seed: 1 });
    const result = await run.result;
    expect(result.exitCode).toBe(4);
    expect(result.message).toMatch(/Grader bug/);
    expect(result.checks[0].status).toBe('error');
  });

  it('--only with an unknown check id is a usage error with a suggestion', () => {
    expect(() => runLab({ lab, dir: FIXTURES, startCommand: 'node ok.js', only: ['helth'] })).toThrow(/no check "helth". Did you mean "health"\?/);
  });
});
