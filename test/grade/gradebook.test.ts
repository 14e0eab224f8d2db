// The gradebook's pieces without Docker: error classes from run results, CSV (quoting, formula defusing),
// shards (deterministic, disjoint, complete), merge (refuses overlaps and other labs), CSV input, capacity.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capacity } from '../../cli/grade/capacity.ts';
import { makeGradebook, mergeGradebooks, studentFromRun, studentSeed, summarize, toCsv } from '../../cli/grade/gradebook.ts';
import { parseCsv, parseShard, resolveSubmissions, shardOf } from '../../cli/grade/submissions.ts';
import type { RunResult } from '../../grader/events.ts';
import type { Lab } from '../../grader/types.ts';

const lab = { id: 'demo', title: 'Demo', checks: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }, { id: 'c', title: 'C' }] } as unknown as Lab;
const tmp = mkdtempSync(join(tmpdir(), 'labs-gradebook-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function result(partial: Partial<RunResult>): RunResult {
  return { lab: { id: 'demo', title: 'Demo' }, seed: 7, status: 'fail', exitCode: 1, checks: [], timings: { totalMs: 10 }, serverOutput: [], startCommand: 'npm start', ...partial };
}

describe('error classes', () => {
  it('per check: failed, timed out, crashed, killed for memory, not run', () => {
    const rec = studentFromRun(lab, 'ann', '/x', result({
      checks: [
        { id: 'a', title: 'A', status: 'fail', durationMs: 5, failure: { message: 'The check did not finish within 10 s: ...' } },
        { id: 'b', title: 'B', status: 'fail', durationMs: 5, failure: { message: 'Your server exited during this check (SIGKILL).' }, serverOutput: ['[labs] your server was killed: it used more than the 512 MiB of memory a submission may use'] },
        { id: 'c', title: 'C', status: 'skip', durationMs: 0, failure: { message: 'Not run: ...' } },
      ],
    }), 100);
    expect(rec.checks.map((c) => c.errorClass)).toEqual(['check-timeout', 'out-of-memory', 'not-run']);
    expect(rec).toMatchObject({ status: 'fail', score: 0, maxScore: 3, errorClass: 'check-timeout', seed: 7 });
  });
  it('per run: the build, the start, the ready budget; a time limit keeps what passed', () => {
    const build = studentFromRun(lab, 'bo', '/x', result({ status: 'error', exitCode: 2, message: 'Your Dockerfile did not build: RUN npm ci' }), 1);
    expect(build).toMatchObject({ status: 'error', errorClass: 'build-failed' });
    expect(build.checks.every((c) => c.status === 'error' && c.errorClass === 'build-failed')).toBe(true);
    expect(studentFromRun(lab, 'bo', '/x', result({ status: 'error', exitCode: 2, message: 'Your server did not listen on port 1 within 20 s.' }), 1).errorClass).toBe('ready-timeout');
    expect(studentFromRun(lab, 'bo', '/x', result({ status: 'error', exitCode: 2, message: 'Your server exited before it listened on port 1 (exit code 1).' }), 1).errorClass).toBe('no-start');
    const limited = studentFromRun(lab, 'cy', '/x', result({ status: 'error', exitCode: 130, checks: [{ id: 'a', title: 'A', status: 'pass', durationMs: 3 }, { id: 'b', title: 'B', status: 'skip', durationMs: 0 }] }), 1, 'Stopped after the time limit');
    expect(limited.checks.map((c) => [c.status, c.errorClass])).toEqual([['pass', ''], ['fail', 'time-limit'], ['fail', 'time-limit']]);
    expect(limited).toMatchObject({ score: 1, errorClass: 'time-limit' });
  });
});

it('CSV: one row per student and check; quotes, newlines and formulas are made harmless', () => {
  const rec = studentFromRun(lab, '=cmd|"x"', '/x', result({ checks: [{ id: 'a', title: 'A', status: 'fail', durationMs: 5, failure: { message: 'Expected "ok",\ngot no' } }] }), 1);
  const csv = toCsv(makeGradebook(lab, [rec]));
  const rows = parseCsv(csv);
  expect(rows[0]).toEqual(['student', 'check', 'status', 'score', 'duration_ms', 'seed', 'error_class', 'message']);
  expect(rows).toHaveLength(4);
  expect(rows[1]).toEqual(["'=cmd|\"x\"", 'a', 'fail', '0', '5', '7', 'check-failed', 'Expected "ok",']);
});

it('shards: deterministic, disjoint, and together the whole class', () => {
  const names = ['zoe', 'al', 'mo', 'bea', 'cy', 'dan', 'eli'].map((student) => ({ student }));
  const slices = [1, 2, 3].map((index) => shardOf(names, { index, count: 3 }).map((s) => s.student));
  expect(slices).toEqual([['al', 'dan', 'zoe'], ['bea', 'eli'], ['cy', 'mo']]);
  expect(shardOf([...names].reverse(), { index: 2, count: 3 }).map((s) => s.student)).toEqual(slices[1]);
  expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
  for (const bad of ['0/4', '5/4', '1-4', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard/);
  expect(studentSeed('demo', 'al')).toBe(studentSeed('demo', 'al'));
  expect(studentSeed('demo', 'al')).not.toBe(studentSeed('demo', 'bea'));
});

it('merge: joins shards in name order, refuses a student twice and another lab', () => {
  const rec = (student: string, pass: boolean) => studentFromRun(lab, student, '/x', result({ checks: lab.checks.map((c) => ({ id: c.id, title: c.title, status: pass ? 'pass' : 'fail', durationMs: 1, failure: pass ? undefined : { message: 'no' } })) }), 1);
  const one = makeGradebook(lab, [rec('cy', true), rec('al', false)], '1/2');
  const two = makeGradebook(lab, [rec('bo', true)], '2/2');
  const merged = mergeGradebooks([{ name: 'one', book: one }, { name: 'two', book: two }]);
  expect(merged.students.map((s) => s.student)).toEqual(['al', 'bo', 'cy']);
  expect(merged.shard).toBeUndefined();
  expect(summarize(merged).map((r) => [r.id, r.passed, r.graded])).toEqual([['a', 2, 3], ['b', 2, 3], ['c', 2, 3]]);
  expect(() => mergeGradebooks([{ name: 'one', book: one }, { name: 'again', book: one }])).toThrow('al is graded in both one and again');
  expect(() => mergeGradebooks([{ name: 'one', book: one }, { name: 'other', book: { ...two, lab: { id: 'x', title: 'X' } } }])).toThrow('grades lab x');
});

it('submissions: lab folders, a folder of them, a CSV with or without a header; names must be unique', () => {
  for (const name of ['ann', 'bob']) {
    mkdirSync(join(tmp, 'class', name), { recursive: true });
    writeFileSync(join(tmp, 'class', name, 'labs.json'), '{}');
  }
  mkdirSync(join(tmp, 'class', 'notes'), { recursive: true });
  writeFileSync(join(tmp, 'with-header.csv'), 'Name,URL\r\n"Lee, Kim",https://example.invalid/a.git\r\n');
  writeFileSync(join(tmp, 'plain.csv'), 'cat,/srv/cat.git\n\n');
  const subs = resolveSubmissions(['class', 'with-header.csv', 'plain.csv'], tmp);
  expect(subs).toEqual([
    { student: 'ann', dir: join(tmp, 'class', 'ann') },
    { student: 'bob', dir: join(tmp, 'class', 'bob') },
    { student: 'Lee, Kim', url: 'https://example.invalid/a.git' },
    { student: 'cat', url: '/srv/cat.git' },
  ]);
  expect(() => resolveSubmissions(['class/ann', 'class'], tmp)).toThrow('Two submissions are named "ann"');
  expect(() => resolveSubmissions(['class/notes'], tmp)).toThrow('neither a lab folder');
});

it('--jobs default: the smaller of two per core and what free memory holds', () => {
  expect(capacity({ memoryMiB: 512 }, 8, 64 * 1024).jobs).toBe(16);
  expect(capacity({ memoryMiB: 512 }, 8, 3000).jobs).toBe(2); // (3000 - 1024) / 704
  expect(capacity({ memoryMiB: 512 }, 8, 500).jobs).toBe(1);
  expect(capacity({ memoryMiB: 512 }, 2, 21_000).explain).toMatch(/^4 here: min\(2 cores x 2, /);
});
