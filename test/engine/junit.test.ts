// labs check --junit and GitHub Actions annotations: well-formed XML that round-trips hostile text, the
// plain report's own per-check detail as a failure's text, and workflow commands escaped as GitHub reads
// them. End to end through the real CLI too (node bin/labs.js in a scaffolded http-basics starter).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult, RunResult } from '../../grader/events.ts';
import { githubAnnotations, toJunit, xmlAttr, xmlText } from '../../grader/report/junit.ts';
import { palette } from '../../grader/report/colour.ts';
import { formatCheck } from '../../grader/report/text.ts';
import { scaffold } from '../../cli/scaffold.ts';
import { loadLab } from '../../labs/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LABS = join(ROOT, 'bin', 'labs.js');
// <, &, ]]>, both quotes, a tab, a bell (no XML 1.0 document can hold it), then a CRLF and a second line.
const HOSTILE = 'Expected <h1> & "quotes" \'too\' ]]> and\ta bell \u0007 then\r\nline two';
const HOSTILE_FIRST_LINE = 'Expected <h1> & "quotes" \'too\' ]]> and\ta bell \uFFFD then';

const failed: CheckResult = {
  id: 'two',
  title: 'Two <b> & "c"',
  status: 'fail',
  durationMs: 1500,
  hint: 'Do & it, ]]> too.',
  failure: {
    message: HOSTILE,
    expected: 'HTTP 200',
    received: 'HTTP 500',
    exchange: {
      request: { method: 'POST', url: 'http://127.0.0.1:4100/api/echo?a=1&b=2', headers: { 'content-type': 'application/json' }, body: '{"x":"<y>"}', bodyBytes: 11 },
      durationMs: 2,
    },
  },
  serverOutput: ['\u001b[32mlistening\u001b[39m on 4100', 'boom <at> & ]]>'],
} as CheckResult;

const result = {
  lab: { id: 'demo-lab', title: 'Demo' },
  status: 'fail',
  exitCode: 1,
  seed: 7,
  checks: [
    { id: 'one', title: 'One', status: 'pass', durationMs: 3 },
    failed,
    { id: 'three', title: 'Three', status: 'error', durationMs: 1, failure: { message: 'check threw TypeError: x' } },
    { id: 'four', title: 'Four', status: 'skip', durationMs: 0, failure: { message: 'Not run.' } },
  ],
  timings: { totalMs: 2500 },
  serverOutput: [],
  startCommand: 'npm start',
} as unknown as RunResult;

// Well-formedness by a conforming parser: Python's expat rejects what fast-xml-parser's validator lets
// through (control characters, < in an attribute, ]]> in text, undefined entities). python3 is already
// required by the suite.
const EXPAT = 'import sys, xml.parsers.expat as e\ntry:\n  e.ParserCreate().Parse(sys.stdin.buffer.read(), True)\nexcept e.ExpatError as err:\n  sys.exit(str(err))';
const wellFormed = (xml: string) => execaSync('python3', ['-c', EXPAT], { input: xml, reject: false });

// Then fast-xml-parser reads it back, keeping text as it is (no trimming, no number parsing), so what
// was escaped can be compared with what was meant.
const parse = (xml: string) => {
  const strict = wellFormed(xml);
  expect(strict.exitCode, strict.stderr).toBe(0);
  expect(XMLValidator.validate(xml)).toBe(true);
  return new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', trimValues: false, parseTagValue: false, parseAttributeValue: false, htmlEntities: true }).parse(xml);
};

describe('XML escaping', () => {
  it('the strict check does reject what is not well formed', () => {
    for (const bad of ['<r>\u0007</r>', '<r a="<"/>', '<r>]]></r>', '<r>&amp</r>', '<r>&bogus;</r>', '<r></s>']) expect(wellFormed(bad).exitCode, bad).not.toBe(0);
    expect(wellFormed('<r a="&quot;&#10;">&lt;&#13;</r>').exitCode).toBe(0);
  });

  it('text and attributes round-trip through a real parser; what XML cannot hold becomes U+FFFD; terminal colours are dropped', () => {
    const s = 'a < b && c > d ]]> "q" \'s\'\ttab\r\nCRLF \u0000\u0007\u001f \uD800 lone \u{1F600} \u001b[1mbold\u001b[22m';
    const meant = 'a < b && c > d ]]> "q" \'s\'\ttab\r\nCRLF \uFFFD\uFFFD\uFFFD \uFFFD lone \u{1F600} bold';
    const doc = parse(`<r a="${xmlAttr(s)}">${xmlText(s)}</r>`);
    expect(doc.r.a).toBe(meant);
    expect(doc.r['#text']).toBe(meant);
    expect(xmlText(s)).not.toContain(']]>');
  });
});

describe('JUnit XML', () => {
  let suite: any; // the parsed <testsuite>
  beforeAll(() => {
    suite = parse(toJunit(result)).testsuites.testsuite;
  });

  it('one testsuite named after the lab with the counts, one testcase per check', () => {
    expect(suite).toMatchObject({ name: 'demo-lab', tests: '4', failures: '1', errors: '1', skipped: '1', time: '2.500' });
    expect(suite.testcase.map((c: { name: string }) => c.name)).toEqual(['one: One', 'two: Two <b> & "c"', 'three: Three', 'four: Four']);
    expect(suite.testcase.map((c: { classname: string }) => c.classname)).toEqual(['demo-lab', 'demo-lab', 'demo-lab', 'demo-lab']);
    expect(suite.testcase.map((c: { time: string }) => c.time)).toEqual(['0.003', '1.500', '0.001', '0.000']);
    expect(suite.testcase[0].failure).toBeUndefined();
  });

  it("a failed check: <failure message=first line>, its text the plain report's detail for that check", () => {
    const f = suite.testcase[1].failure;
    expect(f.message).toBe(HOSTILE_FIRST_LINE);
    const plain = formatCheck(failed, palette(false), 1, 4).replace('\u0007', '\uFFFD').replace('\u001b[32m', '').replace('\u001b[39m', '');
    expect(f['#text']).toBe(plain);
    for (const part of ['line two', 'Sent:', 'POST /api/echo?a=1&b=2', 'Expected:', 'HTTP 200', 'Received:', 'HTTP 500', "curl -i -X POST 'http://127.0.0.1:4100/api/echo?a=1&b=2'", 'Hint: Do & it, ]]> too.', 'boom <at> & ]]>']) {
      expect(f['#text']).toContain(part);
    }
    expect(f['#text']).toContain('[your server] listening on 4100'); // colours dropped, not U+FFFD'd
  });

  it('a grader error is an <error>, a check not run is <skipped/>', () => {
    expect(suite.testcase[2].error).toMatchObject({ message: 'check threw TypeError: x', type: 'error' });
    expect(suite.testcase[2].failure).toBeUndefined();
    expect(suite.testcase[3].skipped).toBeDefined();
    expect(suite.testcase[3].failure).toBeUndefined();
  });

  it('a run that could not start says why in <system-err> with the server\'s last lines in <system-out>, every check skipped', () => {
    const crashed = { ...result, status: 'error', exitCode: 2, message: 'Your server exited with code 1 before listening on $PORT <3000>.', serverOutput: ['Error: <boom> & ]]>', '    at main'], checks: result.checks.map((c) => ({ ...c, status: 'skip' })) } as RunResult;
    const s = parse(toJunit(crashed)).testsuites.testsuite;
    expect(s).toMatchObject({ tests: '4', failures: '0', errors: '0', skipped: '4' });
    expect(s['system-err']).toBe(crashed.message);
    expect(s['system-out']).toBe('Error: <boom> & ]]>\n    at main'); // its last lines
  });
});

describe('GitHub Actions annotations', () => {
  it('one ::error title=<check id> per failed or errored check, nothing for the others', () => {
    expect(githubAnnotations(result)).toEqual([
      `::error title=two::Expected <h1> & "quotes" 'too' ]]> and\ta bell \u0007 then%0D%0Aline two`,
      '::error title=three::check threw TypeError: x',
    ]);
    expect(githubAnnotations({ ...result, status: 'pass', checks: [result.checks[0]!] } as RunResult)).toEqual([]);
  });

  it("escapes as GitHub reads them: % CR LF in the message, also : and , in the title", () => {
    const lines = githubAnnotations({ ...result, checks: [{ id: 'x:y,z%', title: 't', status: 'fail', durationMs: 1, failure: { message: '100% wrong\r\nsee: a, b\n' } }] } as RunResult);
    expect(lines).toEqual(['::error title=x%3Ay%2Cz%25::100%25 wrong%0D%0Asee: a, b%0A']);
    expect(lines[0]).not.toMatch(/[\r\n]/);
  });

  it('a run that could not start (no check failed) is annotated under the lab id', () => {
    const crashed = { ...result, status: 'error', exitCode: 2, message: 'Your server crashed:\nexit 1', checks: result.checks.map((c) => ({ ...c, status: 'skip' })) } as RunResult;
    expect(githubAnnotations(crashed)).toEqual(['::error title=demo-lab::Your server crashed:%0Aexit 1']);
  });
});

describe('labs check --junit / GITHUB_ACTIONS=true, end to end on the http-basics starter', () => {
  let dir: string;
  // GITHUB_ACTIONS empty unless a test sets it: this suite may itself run on GitHub Actions.
  const env = (more: Record<string, string> = {}) => ({ NO_COLOR: '1', XDG_STATE_HOME: join(dir, '.state'), GITHUB_ACTIONS: '', ...more });
  const labs = (args: string[], more?: Record<string, string>) => execa('node', [LABS, 'check', ...args], { cwd: dir, env: env(more), reject: false });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'labs-junit-'));
    scaffold({ lab: await loadLab('http-basics'), dir, force: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    mkdirSync(join(dir, 'reports'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--junit writes a well-formed report next to the normal output, and nothing else', { timeout: 60_000 }, async () => {
    const r = await labs(['--junit', 'reports/junit.xml']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAILED 0 of 10 checks passed/); // the terminal report as always
    expect(r.stdout).not.toContain('::error');
    expect(readdirSync(join(dir, 'reports'))).toEqual(['junit.xml']); // no temporary file left
    const suite = parse(readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8')).testsuites.testsuite;
    expect(suite).toMatchObject({ name: 'http-basics', tests: '10', failures: '1', errors: '0', skipped: '9' });
    const first = suite.testcase[0];
    expect(first).toMatchObject({ classname: 'http-basics', name: 'health: GET /health answers 200 with JSON {"status":"ok"}' });
    expect(Number(first.time)).toBeGreaterThan(0);
    expect(first.failure.message).toBe('Expected status 200, got 404.');
    expect(first.failure['#text']).toMatch(/Sent:\n\s+GET \/health[\s\S]*Expected:[\s\S]*Received:[\s\S]*curl -i http:\/\/127\.0\.0\.1:\d+\/health[\s\S]*Hint: /);
    expect(suite.testcase.slice(1).every((c: { skipped?: unknown }) => c.skipped !== undefined)).toBe(true);
  });

  it('GITHUB_ACTIONS=true prints one ::error line per failed check on stdout', { timeout: 60_000 }, async () => {
    const r = await labs(['--all'], { GITHUB_ACTIONS: 'true' });
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(annotations).toHaveLength(9); // the starter's 9 own checks: it answers malformed targets already
    expect(annotations[0]).toBe('::error title=health::Expected status 200, got 404.');
    expect(annotations).toContain('::error title=method-not-allowed::DELETE /health: the route exists but not for DELETE, so the answer is 405 Method Not Allowed.');
  });

  it('with --json: stdout stays JSON, the annotations go to stderr, --junit still writes', { timeout: 60_000 }, async () => {
    const r = await labs(['--json', '--junit', 'reports/both.xml'], { GITHUB_ACTIONS: 'true' });
    expect(r.exitCode, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ version: 3, lab: 'http-basics', status: 'fail' });
    expect(r.stderr).toMatch(/^::error title=health::Expected status 200, got 404\.$/m);
    expect(parse(readFileSync(join(dir, 'reports', 'both.xml'), 'utf8')).testsuites.testsuite.name).toBe('http-basics');
  });

  it('usage errors (exit 3) before anything runs: a missing folder, a folder as the file, with --watch', { timeout: 60_000 }, async () => {
    const missing = await labs(['--junit', 'no/such/folder/report.xml']);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/--junit no\/such\/folder\/report\.xml: the folder .*no\/such\/folder does not exist/);
    const folder = await labs(['--junit', 'reports']);
    expect(folder.exitCode).toBe(3);
    expect(folder.stderr).toMatch(/--junit reports: .*reports is a folder/);
    const watch = await labs(['--watch', '--junit', 'reports/w.xml']);
    expect(watch.exitCode).toBe(3);
    expect(watch.stderr).toMatch(/--watch.* cannot be combined with .*--junit/);
    expect(readdirSync(dir)).not.toContain('no');
  });
});
