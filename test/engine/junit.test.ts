// labs check --junit and GitHub Actions annotations: well-formed XML that round-trips hostile text, and
// workflow commands escaped as GitHub reads them. End to end through the real CLI too.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../grader/events.ts';
import { githubAnnotations, toJunit } from '../../grader/report/junit.ts';
import { scaffold } from '../../cli/scaffold.ts';
import { loadLab } from '../../labs/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HOSTILE = 'Expected <h1> & "quotes" \'too\' ]]> and a bell \u0007 then\nline two';

const result: RunResult = {
  lab: { id: 'demo-lab', title: 'Demo' },
  status: 'fail',
  exitCode: 1,
  seed: 7,
  checks: [
    { id: 'one', title: 'One', status: 'pass', durationMs: 3 },
    { id: 'two', title: 'Two <b>', status: 'fail', durationMs: 1500, hint: 'Do & it.', failure: { message: HOSTILE, expected: 'HTTP 200', received: 'HTTP 500' } },
    { id: 'three', title: 'Three', status: 'error', durationMs: 1, failure: { message: 'check threw TypeError: x' } },
    { id: 'four', title: 'Four', status: 'skip', durationMs: 0, failure: { message: 'Not run.' } },
  ],
  timings: { totalMs: 2500 },
  serverOutput: [],
  startCommand: 'npm start',
} as unknown as RunResult;

const work: string[] = [];
afterAll(() => {
  for (const d of work) rmSync(d, { recursive: true, force: true });
});

describe('JUnit XML', () => {
  it('is well formed, one testcase per check, and the failure text round-trips', () => {
    const xml = toJunit(result);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ name: 'demo-lab', tests: '4', failures: '1', errors: '1', skipped: '1', time: '2.500' });
    const cases = suite.testcase;
    expect(cases.map((c: { name: string }) => c.name)).toEqual(['one: One', 'two: Two <b>', 'three: Three', 'four: Four']);
    expect(cases[1].time).toBe('1.500');
    expect(cases[1].failure.message).toBe('Expected <h1> & "quotes" \'too\' ]]> and a bell \uFFFD then');
    expect(cases[1].failure['#text']).toContain('line two');
    expect(cases[1].failure['#text']).toContain('Do & it.');
    expect(cases[2].error.type).toBe('error');
    expect(cases[3].skipped).toBeDefined();
  });
});

describe('GitHub Actions annotations', () => {
  it('one ::error per failed check, message newlines and % escaped, title properties too', () => {
    const lines = githubAnnotations({ ...result, checks: [{ ...result.checks[1]!, failure: { message: '100% wrong\r\nsee: a, b' } }] } as RunResult);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^::error title=demo-lab \/ two::/);
    expect(lines[0]).toContain('100%25 wrong%0D%0A');
    expect(lines[0]).toContain('see: a, b'); // in the message (data) only % CR LF are escaped
    expect(lines[0]).not.toMatch(/[\r\n]/);
    expect(githubAnnotations({ ...result, checks: [{ id: 'x:y,z', title: 't', status: 'fail', durationMs: 1 }] } as unknown as RunResult)[0]).toMatch(/^::error title=demo-lab \/ x%3Ay%2Cz::/);
  });
});

describe('labs check --junit, end to end', () => {
  it('writes the report next to a normal run; GITHUB_ACTIONS=true adds annotations; a missing folder is a usage error', { timeout: 60_000 }, async () => {
    const lab = await loadLab('http-basics');
    const dir = mkdtempSync(join(tmpdir(), 'labs-junit-'));
    work.push(dir);
    scaffold({ lab, dir, force: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const env = { NO_COLOR: '1', XDG_STATE_HOME: join(dir, '.state'), GITHUB_ACTIONS: 'true' };
    const r = await execa('node', [join(ROOT, 'bin', 'labs.js'), 'check', '--junit', 'report.xml'], { cwd: dir, env, reject: false });
    expect(r.exitCode, r.stdout).toBe(1);
    const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<testsuite name="http-basics"');
    expect(xml).toMatch(/<failure message="[^"]+" type="fail">/);
    expect(r.stdout).toMatch(/^::error title=http-basics \/ health::/m);
    const bad = await execa('node', [join(ROOT, 'bin', 'labs.js'), 'check', '--junit', 'no/such/folder/report.xml'], { cwd: dir, env: { NO_COLOR: '1' }, reject: false });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr + bad.stdout).toMatch(/--junit no\/such\/folder\/report\.xml: the folder .* does not exist/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});
