import { describe, expect, it } from 'vitest';
import { defineLab } from '../../grader/define.ts';
import { toCurl, shellQuote } from '../../grader/probe/exchange.ts';
import { toJson } from '../../grader/report/json.ts';
import { textReporter } from '../../grader/report/text.ts';
import { Random } from '../../grader/random.ts';
import type { RunResult } from '../../grader/events.ts';
import type { LabDefinition } from '../../grader/types.ts';

const valid: LabDefinition = {
  id: 'demo-lab',
  title: 'Demo',
  track: 'foundations',
  summary: 'demo',
  difficulty: 'beginner',
  estimatedMinutes: 5,
  questions: [1, 2],
  checks: [{ id: 'one', title: 'One', hint: 'h', async run() {} }],
};

describe('defineLab validation names the lab and the field', () => {
  const cases: [string, Partial<LabDefinition> | ((d: LabDefinition) => LabDefinition), RegExp][] = [
    ['bad id', { id: 'Demo Lab' }, /Lab "Demo Lab": expected `id` to be a kebab-case string, got `Demo Lab` \(string\)/],
    ['bad track', { track: 'misc' as any }, /Lab "demo-lab": expected `track` to be one of foundations/],
    ['question out of range', { questions: [1, 51] }, /expected `questions\[1\]` to be an integer from 1 to 50, got `51` \(number\)/],
    ['unknown service', { services: ['mysql' as any] }, /expected `services\[0\]` to be one of postgres, redis, rabbitmq/],
    ['negative timeout', (d) => ({ ...d, checks: [{ ...d.checks[0], timeoutMs: -1 }] }), /expected `checks\[0\].timeoutMs` to be a positive integer, got `-1` \(number\)/],
    ['duplicate check ids', (d) => ({ ...d, checks: [d.checks[0], d.checks[0]] }), /expected `checks\[1\].id` to be unique within the lab/],
    ['missing hint', (d) => ({ ...d, checks: [{ ...d.checks[0], hint: '' }] }), /expected `checks\[0\].hint` to be a non-empty string/],
    ['bad env name', { env: { 'rate-limit': { description: 'x', value: '1' } } }, /expected `env.rate-limit` to be an UPPER_SNAKE_CASE name/],
  ];
  for (const [name, change, message] of cases) {
    it(name, () => {
      const def = typeof change === 'function' ? change(valid) : { ...valid, ...change };
      expect(() => defineLab(def, '/tmp')).toThrow(message);
    });
  }
  it('accepts a valid lab and fills defaults', () => {
    const lab = defineLab(valid, '/tmp');
    expect(lab.services).toEqual([]);
    expect(lab.env).toEqual({});
  });
});

describe('curl reproduction', () => {
  it('quotes for the shell and keeps method, headers and body', () => {
    const curl = toCurl({ method: 'POST', url: 'http://127.0.0.1:4000/api/echo', headers: { 'Content-Type': 'application/json' }, body: `{"it's":1}`, bodyBytes: 9 });
    expect(curl).toBe(`curl -i -X POST http://127.0.0.1:4000/api/echo -H 'Content-Type: application/json' --data-raw '{"it'\\''s":1}'`);
    expect(shellQuote('a b')).toBe("'a b'");
    expect(toCurl({ method: 'GET', url: 'http://x/?a=1&b=2', headers: {}, bodyBytes: 0 })).toBe("curl -i 'http://x/?a=1&b=2'");
  });
});

describe('seeded random', () => {
  it('replays with the same seed and differs per stream', () => {
    const a = new Random(7, 'check-a');
    const b = new Random(7, 'check-a');
    const c = new Random(7, 'check-b');
    const seqA = Array.from({ length: 5 }, () => a.int(0, 1000));
    expect(Array.from({ length: 5 }, () => b.int(0, 1000))).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.int(0, 1000))).not.toEqual(seqA);
  });
});

const result: RunResult = {
  lab: { id: 'demo-lab', title: 'Demo' },
  seed: 99,
  status: 'fail',
  exitCode: 1,
  checks: [
    { id: 'one', title: 'One', status: 'pass', durationMs: 3 },
    {
      id: 'two',
      title: 'Two',
      status: 'fail',
      durationMs: 5,
      hint: 'Do the thing.',
      serverOutput: ['listening'],
      failure: {
        message: 'Expected status 200, got 500.',
        expected: 'HTTP 200',
        exchange: { request: { method: 'GET', url: 'http://127.0.0.1:5000/x', headers: {}, bodyBytes: 0 }, response: { status: 500, headers: {}, body: 'boom', bytes: 4, truncated: false }, durationMs: 1 },
      },
    },
    { id: 'three', title: 'Three', status: 'skip', durationMs: 0 },
  ],
  timings: { totalMs: 1234 },
  serverOutput: ['listening'],
  startCommand: 'npm start',
};

describe('reporters', () => {
  it('--json is Exercism v3 plus score, seed, lab and per-check duration', () => {
    const json = toJson(result);
    expect(json).toMatchObject({ version: 3, status: 'fail', score: 1, max_score: 3, lab: 'demo-lab', seed: 99, exit_code: 1 });
    expect(json.tests.map((t) => t.status)).toEqual(['pass', 'fail', 'fail']);
    expect(json.tests[1]).toMatchObject({ name: 'Two', task_id: 2, duration_ms: 5, curl: 'curl -i http://127.0.0.1:5000/x', hint: 'Do the thing.', output: 'listening' });
    expect(json.tests[1].message).toContain('Expected:\nHTTP 200');
    expect(json.tests[0].message).toBeNull();
  });

  it('plain text has no colour codes, shows the curl, the hint and the server lines', () => {
    let out = '';
    const report = textReporter({ write: (t) => (out += t), colour: false });
    report({ type: 'check-end', result: result.checks[1], index: 1, total: 3 });
    report({ type: 'run-end', result });
    expect(out).not.toMatch(/\u001b\[/);
    expect(out).toContain('curl -i http://127.0.0.1:5000/x');
    expect(out).toContain('Hint: Do the thing.');
    expect(out).toContain('[your server] listening');
    expect(out).toContain('FAILED 1 of 3 checks passed');
    expect(out).toContain('seed 99');
  });

  it('colour when asked', () => {
    let out = '';
    textReporter({ write: (t) => (out += t), colour: true })({ type: 'run-end', result });
    expect(out).toMatch(/\u001b\[31m/);
  });
});
