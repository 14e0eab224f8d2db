// --json: Exercism test-runner results (version 3) plus score/max_score (GitHub Classroom), per-check
// duration, the seed and the lab id.
import { describeRequest, describeResponse, toCurl } from '../probe/exchange.ts';
import type { RunResult } from '../events.ts';

export interface JsonTest {
  name: string;
  status: 'pass' | 'fail' | 'error';
  message: string | null;
  output: string | null;
  test_code: string;
  task_id: number;
  check_id: string;
  duration_ms: number;
  score: number;
  max_score: number;
  curl?: string;
  hint?: string;
}

export interface JsonResult {
  version: 3;
  status: 'pass' | 'fail' | 'error';
  message: string | null;
  tests: JsonTest[];
  score: number;
  max_score: number;
  lab: string;
  seed: number;
  duration_ms: number;
  phases_ms: { services: number | null; build: number | null; ready: number | null; checks: number | null; teardown: number | null };
  exit_code: number;
}

export function toJson(result: RunResult): JsonResult {
  const tests: JsonTest[] = result.checks.map((r, i) => {
    const f = r.failure;
    const parts: string[] = [];
    if (f && r.status !== 'pass') {
      parts.push(f.message);
      if (f.exchange) parts.push(`Sent:\n${describeRequest(f.exchange.request)}`);
      if (f.expected) parts.push(`Expected:\n${f.expected}`);
      if (f.received) parts.push(`Received:\n${f.received}`);
      else if (f.exchange?.response) parts.push(`Received:\n${describeResponse(f.exchange.response)}`);
      if (f.transcript) parts.push(`Transcript:\n${f.transcript}`);
    }
    return {
      name: r.title,
      // Exercism has no "skip": a check that did not run did not pass.
      status: r.status === 'pass' ? 'pass' : r.status === 'error' ? 'error' : 'fail',
      message: parts.length ? parts.join('\n\n') : null,
      output: r.serverOutput?.length ? r.serverOutput.join('\n') : null,
      test_code: `labs check --only ${r.id} --seed ${result.seed}`,
      task_id: i + 1,
      check_id: r.id,
      duration_ms: r.durationMs,
      score: r.status === 'pass' ? 1 : 0,
      max_score: 1,
      ...(f?.exchange ? { curl: toCurl(f.exchange.request) } : f?.reproduce ? { curl: f.reproduce } : {}),
      ...(r.hint && r.status !== 'pass' ? { hint: r.hint } : {}),
      ...(r.notes?.length ? { notes: r.notes } : {}),
    };
  });
  return {
    version: 3,
    status: result.status,
    message: result.message ?? null,
    tests,
    score: tests.reduce((s, t) => s + t.score, 0),
    max_score: tests.length,
    lab: result.lab.id,
    seed: result.seed,
    duration_ms: result.timings.totalMs,
    // where the time went: services (database ready), ready (the server's start-to-ready), checks, teardown
    phases_ms: { services: result.timings.servicesMs ?? null, build: result.timings.buildMs ?? null, ready: result.timings.readyMs ?? null, checks: result.timings.checksMs ?? null, teardown: result.timings.teardownMs ?? null },
    exit_code: result.exitCode,
  };
}
