// Plain data shaped like the engine's results, for reducer and component tests.
import type { CheckResult, RunResult } from '../../grader/events.ts';

export const LAB = { id: 'http-basics', title: 'HTTP basics: your first server' };

export const CHECKS = [
  { id: 'health', title: 'GET /health answers 200' },
  { id: 'home-page', title: 'GET / serves an HTML page' },
  { id: 'echo-json', title: 'POST /api/echo returns the JSON it was sent' },
];

export function pass(id: string, durationMs = 12): CheckResult {
  const c = CHECKS.find((x) => x.id === id)!;
  return { id, title: c.title, status: 'pass', durationMs };
}

export function failHealth(): CheckResult {
  return {
    id: 'health',
    title: CHECKS[0].title,
    status: 'fail',
    durationMs: 31,
    hint: 'Route GET /health to a handler that sends {"status":"ok"}.',
    serverOutput: ['listening on 4321', 'GET /health'],
    failure: {
      message: 'GET /health must answer exactly {"status":"ok"}.',
      expected: '{"status":"ok"}',
      exchange: {
        request: { method: 'GET', url: 'http://127.0.0.1:4321/health', headers: { accept: 'application/json' }, bodyBytes: 0 },
        response: { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not implemented yet', bytes: 19, truncated: false },
        durationMs: 3,
      },
    },
  };
}

export function result(checks: CheckResult[], overrides: Partial<RunResult> = {}): RunResult {
  const failed = checks.some((c) => c.status === 'fail');
  return {
    lab: LAB,
    seed: 42,
    status: failed ? 'fail' : 'pass',
    exitCode: failed ? 1 : 0,
    checks,
    timings: { totalMs: 1234 },
    serverOutput: ['listening on 4321'],
    port: 4321,
    startCommand: 'npm start',
    ...overrides,
  };
}
