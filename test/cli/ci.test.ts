// `labs ci init` (the GitHub Classroom workflow) and `labs ci result` (its grading step), read back the way
// GitHub Classroom's reporter reads them: the step output `result` is base64 JSON, points = sum of tests'
// `score` against `max_score`.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { classroomResult, outputLine, runCiInit, runCiResult, summaryMarkdown, type ClassroomResult } from '../../cli/commands/ci.ts';
import { ROOT, scaffold } from '../../cli/scaffold.ts';
import { toJson } from '../../grader/report/json.ts';
import { loadLab } from '../../labs/index.ts';
import { failHealth, pass, result } from '../tui/fixtures.ts';

const BIN = join(ROOT, 'bin', 'labs.js');
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'labs-ci-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

async function labFolder(id: string, template = 'typescript', dir = join(work, id)) {
  scaffold({ lab: await loadLab(id), dir, template });
  return dir;
}

/** The reporter's reading of one runner's output (autograding-grading-reporter: parse, then sum scores). */
function asReporterReads(output: string): { results: ClassroomResult; points: number; max: number } {
  const line = output.split('\n').find((l) => l.startsWith('result='))!;
  const results = JSON.parse(Buffer.from(line.slice('result='.length), 'base64').toString('utf8')) as ClassroomResult;
  return { results, points: results.tests.reduce((s, t) => s + t.score, 0), max: results.max_score };
}

type Step = { name?: string; id?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
type Workflow = { name: string; on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, { 'runs-on': string; if: string; name?: string; defaults?: { run: { 'working-directory': string } }; steps: Step[] }> };

describe('labs ci init', () => {
  it('writes a Classroom workflow: the job id, permissions and reporter wiring Classroom expects', async () => {
    const dir = await labFolder('http-basics');
    let out = '';
    expect(await runCiInit({}, dir, (t) => (out += t))).toBe(0);
    expect(out).toContain('Wrote .github/workflows/classroom.yml for http-basics (10 checks, one point each)');
    const wf = parse(readFileSync(join(dir, '.github/workflows/classroom.yml'), 'utf8')) as Workflow;
    expect(wf.name).toBe('Autograding Tests');
    expect(Object.keys(wf.on)).toEqual(['push', 'workflow_dispatch', 'repository_dispatch']);
    expect(wf.permissions).toEqual({ checks: 'write', actions: 'read', contents: 'read' });
    const job = wf.jobs['run-autograding-tests'];
    expect(job.name).toBeUndefined(); // the reporter looks the check run up by this job id
    expect(job['runs-on']).toBe('ubuntu-latest');
    expect(job.defaults).toBeUndefined(); // the lab folder is the repository
    const steps = job.steps;
    expect(steps.map((s) => s.uses ?? s.run?.split('\n')[0])).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'npm install --global "backend-labs@0.1.0"',
      'if [ -f package-lock.json ]; then npm ci; else npm install; fi',
      'set +e',
      'classroom-resources/autograding-grading-reporter@v1',
    ]);
    const grading = steps.find((s) => s.id === 'labs')!;
    expect(grading.run).toContain('labs check --all --json > "$RUNNER_TEMP/labs-check.json"');
    expect(grading.run).toContain('labs ci result "$RUNNER_TEMP/labs-check.json" --exit-code "$code" --max-score 10 >> "$GITHUB_OUTPUT"');
    const reporter = steps.at(-1)!;
    expect(reporter.with).toEqual({ runners: 'labs' });
    expect(reporter.env).toEqual({ LABS_RESULTS: '${{ steps.labs.outputs.result }}' });
  });

  it('a lab with services pulls their images; a Python folder sets up Python; --package changes what is installed', async () => {
    const dir = await labFolder('sql-crud', 'python');
    let out = '';
    await runCiInit({ package: 'github:someone/backend-labs#v0.2.0' }, dir, (t) => (out += t));
    expect(out).toContain('services postgres in Docker');
    const steps = (parse(readFileSync(join(dir, '.github/workflows/classroom.yml'), 'utf8')) as Workflow).jobs['run-autograding-tests'].steps;
    expect(steps.find((s) => s.uses === 'actions/setup-python@v5')?.with).toEqual({ 'python-version': '3.12' });
    expect(steps.find((s) => s.name?.startsWith('Pull the service images'))?.run).toBe('docker pull postgres:16-alpine');
    expect(steps.find((s) => s.name === 'Install the grader')?.run).toBe('npm install --global "github:someone/backend-labs#v0.2.0"');
    expect(steps.find((s) => s.name === "Install the server's dependencies")?.run).toContain('pip install -r requirements.txt');
  });

  it('a lab in a subfolder of a git repository: the workflow goes to the repository root and runs in the lab folder', async () => {
    mkdirSync(join(work, 'course', '.git'), { recursive: true });
    const dir = await labFolder('http-basics', 'typescript', join(work, 'course', 'labs', 'week 1'));
    await runCiInit({}, dir, () => {});
    expect(existsSync(join(dir, '.github'))).toBe(false);
    const wf = parse(readFileSync(join(work, 'course', '.github/workflows/classroom.yml'), 'utf8')) as Workflow;
    expect(wf.jobs['run-autograding-tests'].defaults).toEqual({ run: { 'working-directory': 'labs/week 1' } });
  });

  it('refuses to replace an existing workflow without --force, and says how; --print writes nothing', async () => {
    const dir = await labFolder('http-basics');
    const file = join(dir, '.github/workflows/classroom.yml');
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    writeFileSync(file, 'name: mine\n');
    await expect(runCiInit({}, dir, () => {})).rejects.toThrow(/classroom\.yml already exists: not replacing a workflow you may have edited\. See what it would be with `labs ci init --print`, or replace it with `labs ci init --force`/);
    expect(readFileSync(file, 'utf8')).toBe('name: mine\n');
    let printed = '';
    await runCiInit({ print: true }, dir, (t) => (printed += t));
    expect(printed).toContain('name: Autograding Tests');
    expect(readFileSync(file, 'utf8')).toBe('name: mine\n');
    await runCiInit({ force: true }, dir, () => {});
    expect(readFileSync(file, 'utf8')).toBe(printed);
  });

  it('clear errors: not a lab folder; .github is a file', async () => {
    await expect(runCiInit({}, work, () => {})).rejects.toThrow(/No labs\.json here or in any parent folder/);
    const dir = await labFolder('http-basics');
    writeFileSync(join(dir, '.github'), 'oops');
    await expect(runCiInit({}, dir, () => {})).rejects.toThrow(/\.github is a file, so the workflow cannot go in \.github\/workflows/);
  });

  it('through the binary: exit 3 and the message on a second init', async () => {
    const dir = await labFolder('http-basics');
    const env = { XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' };
    expect((await execa('node', [BIN, 'ci', 'init'], { cwd: dir, env })).exitCode).toBe(0);
    const again = await execa('node', [BIN, 'ci', 'init'], { cwd: dir, env, reject: false });
    expect(again.exitCode).toBe(3);
    expect(again.stderr).toContain('labs: .github/workflows/classroom.yml already exists');
  });
});

describe('labs ci result', () => {
  it('turns labs check --json into a Classroom result: one point per passed check, messages and how to rerun', () => {
    const json = toJson(result([failHealth(), pass('home-page'), pass('echo-json')], { seed: 42 }));
    const { results, points, max } = asReporterReads(outputLine(classroomResult(JSON.stringify(json), 1, 3)));
    expect(points).toBe(2);
    expect(max).toBe(3);
    expect(results.version).toBe(1);
    expect(results.status).toBe('fail');
    expect(results.tests.map((t) => [t.name, t.status, t.score])).toEqual([
      ['GET /health answers 200', 'fail', 0],
      ['GET / serves an HTML page', 'pass', 1],
      ['POST /api/echo returns the JSON it was sent', 'pass', 1],
    ]);
    expect(results.tests[0].message).toContain('GET /health must answer exactly {"status":"ok"}.');
    expect(results.tests[0].message).toContain('Hint: Route GET /health');
    expect(results.tests[0].test_code).toBe('labs check --only health --seed 42');
  });

  it('keeps the step output small: long messages are cut, saying where the rest is', () => {
    const long = failHealth();
    long.failure!.message = 'x'.repeat(50_000);
    const { results } = asReporterReads(outputLine(classroomResult(JSON.stringify(toJson(result([long]))), 1, 1)));
    expect(results.tests[0].message.length).toBeLessThan(2300);
    expect(results.tests[0].message).toContain('the whole report is in the log of the "labs check" step');
  });

  it('when labs check could not grade (no output, or not JSON): an error worth 0 of the lab\'s points', () => {
    for (const text of ['', 'labs: No labs.json here']) {
      const { results, points, max } = asReporterReads(outputLine(classroomResult(text, 3, 9)));
      expect(results.status).toBe('error');
      expect([points, max]).toEqual([0, 9]);
      expect(results.tests[0].message).toContain('labs check did not grade (exit code 3)');
    }
  });

  it('writes the job summary when GITHUB_STEP_SUMMARY is set', async () => {
    const file = join(work, 'check.json');
    writeFileSync(file, JSON.stringify(toJson(result([failHealth(), pass('home-page')]))));
    const summary = join(work, 'summary.md');
    let out = '';
    expect(await runCiResult('check.json', { exitCode: 1, maxScore: 3 }, work, { GITHUB_STEP_SUMMARY: summary }, (t) => (out += t))).toBe(0);
    expect(asReporterReads(out).points).toBe(1);
    expect(readFileSync(summary, 'utf8')).toBe(summaryMarkdown(classroomResult(readFileSync(file, 'utf8'), 1, 3)));
    expect(readFileSync(summary, 'utf8')).toContain('### labs check: 1/2 points');
  });

  it("the workflow's grading step, run as written on the reference solution of http-basics: 10 of 10 points", async () => {
    const dir = await labFolder('http-basics');
    cpSync(join(ROOT, 'labs/http-basics/solution'), dir, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await runCiInit({}, dir, () => {});
    const wf = parse(readFileSync(join(dir, '.github/workflows/classroom.yml'), 'utf8')) as Workflow;
    const script = wf.jobs['run-autograding-tests'].steps.find((s) => s.id === 'labs')!.run!;
    // `labs` on PATH as the global install would put it
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'labs'), `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`);
    chmodSync(join(bin, 'labs'), 0o755);
    const output = join(work, 'github-output');
    writeFileSync(output, '');
    const run = await execa('bash', ['-e', '-c', script], {
      cwd: dir,
      reject: false,
      env: { PATH: `${bin}:${process.env.PATH}`, RUNNER_TEMP: work, GITHUB_OUTPUT: output, GITHUB_ACTIONS: 'true', XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const { results, points, max } = asReporterReads(readFileSync(output, 'utf8'));
    expect([results.status, points, max]).toEqual(['pass', 10, 10]);
  });
});
