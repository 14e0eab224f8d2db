// The learner's loop through the real `labs` binary (not a terminal: plain output, stdin not a TTY):
// start records the folder, every check run is recorded (plain and --json), progress, questions,
// solution (locked until passed), reset (asks; refuses without a terminal unless --yes; keeps a backup).
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'labs.js');
let work: string;
let state: string;
let lab: string;

function labs(args: string[], cwd = work) {
  return execa('node', [BIN, ...args], { cwd, reject: false, env: { XDG_STATE_HOME: state, NO_COLOR: '1' }, extendEnv: true, timeout: 60_000, stdin: 'pipe' });
}
const progress = () => JSON.parse(readFileSync(join(state, 'backend-labs', 'progress.json'), 'utf8'));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'labs-loop-'));
  state = join(work, 'state');
  lab = join(work, 'http-basics');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the learner loop, plain', () => {
  it('labs with no command, not in a terminal, prints the list and exits 0', async () => {
    const r = await labs([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Foundations\n\s+http-basics/);
  });

  it('labs start records the lab as started, with its folder', async () => {
    const r = await labs(['start', 'http-basics', '--no-install']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(progress().labs['http-basics']).toMatchObject({ dir: lab, attempts: 0, startedAt: expect.any(String) });
    const p = await labs(['progress']);
    expect(p.exitCode).toBe(0);
    expect(p.stdout).toMatch(/http-basics\s+started\s+0\s+\.\/http-basics/);
    expect(p.stdout).toContain('0 of ');
  });

  it('solution is locked before a pass (exit 3); --force shows it with a warning', async () => {
    const locked = await labs(['solution', 'http-basics']);
    expect(locked.exitCode).toBe(3);
    expect(locked.stderr).toContain('You have not passed http-basics yet (started)');
    expect(locked.stderr).toContain('labs solution http-basics --force');
    expect(locked.stdout).toBe('');
    const forced = await labs(['solution', 'http-basics', '--force']);
    expect(forced.exitCode).toBe(0);
    expect(forced.stderr).toContain('Warning: you have not passed http-basics yet');
    expect(forced.stdout).toContain('── src/server.ts ──');
    expect(forced.stdout).toContain(readFileSync(join(ROOT, 'labs/http-basics/solution/src/server.ts'), 'utf8').split('\n')[0]);
  });

  it('every labs check run is recorded: a failing plain run, then a passing --json run', async () => {
    symlinkSync(join(ROOT, 'node_modules'), join(lab, 'node_modules'), 'dir');
    const failing = await labs(['check'], lab);
    expect(failing.exitCode, failing.stdout).toBe(1);
    expect(progress().labs['http-basics']).toMatchObject({ attempts: 1, last: { status: 'fail', failed: ['health'] } });
    expect(progress().labs['http-basics'].passedAt).toBeUndefined();

    cpSync(join(ROOT, 'labs/http-basics/solution'), lab, { recursive: true });
    const passing = await labs(['check', '--json'], lab);
    expect(passing.exitCode, passing.stdout).toBe(0);
    expect(JSON.parse(passing.stdout).status).toBe('pass'); // stdout is still only the JSON
    const rec = progress().labs['http-basics'];
    expect(rec).toMatchObject({ attempts: 2, last: { status: 'pass', failed: [] }, passedAt: expect.any(String) });
    expect(rec.best.passed).toBe(rec.best.total);
  });

  it('progress and questions show the pass; solution unlocks', async () => {
    const p = await labs(['progress', '--json']);
    const row = JSON.parse(p.stdout).labs.find((l: { id: string }) => l.id === 'http-basics');
    expect(row).toMatchObject({ status: 'passed', attempts: 2 });
    const q = await labs(['questions']);
    expect(q.exitCode).toBe(0);
    expect(q.stdout).toMatch(/✓ 31\. What is a backend in web development\?\s+http-basics/);
    expect(q.stdout).toMatch(/ {3}1\. Explain the concept of CAP theorem/);
    const qj = JSON.parse((await labs(['questions', '--json'])).stdout);
    expect(qj.total).toBe(50);
    expect(qj.questions).toHaveLength(50);
    const ready = qj.questions.filter((x: { ready: boolean }) => x.ready).map((x: { n: number }) => x.n);
    expect(ready).toEqual([31, 32, 35, 36, 37, 38, 39, 43, 47]);
    expect(q.stdout).toContain('9/50 ready');
    const s = await labs(['solution', 'http-basics']);
    expect(s.exitCode).toBe(0);
    expect(s.stderr).toBe('');
  });

  it('reset refuses to guess without a terminal; with --yes it backs the folder up and starts over', async () => {
    const refused = await labs(['reset', 'http-basics']);
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain('there is no terminal to ask in. Run it again with --yes');
    expect(readFileSync(join(lab, 'src/server.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'labs/http-basics/solution/src/server.ts'), 'utf8'));

    const r = await labs(['reset', 'http-basics', '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    const backups = readdirSync(work).filter((n) => n.startsWith('http-basics.backup-'));
    expect(backups).toHaveLength(1);
    const backup = join(work, backups[0]);
    expect(readFileSync(join(backup, 'src/server.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'labs/http-basics/solution/src/server.ts'), 'utf8'));
    expect(readFileSync(join(lab, 'src/server.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'labs/http-basics/starter/src/server.ts'), 'utf8'));
    expect(existsSync(join(lab, 'node_modules'))).toBe(true);
    expect(r.stdout).toContain(`Your previous code is in ./${backups[0]}`);
    expect(progress().labs['http-basics']).toEqual({ attempts: 0, startedAt: expect.any(String), dir: lab });
  });

  it('reset never touches a folder that is not this lab', async () => {
    const r = await labs(['reset', 'http-basics', '--yes', '--dir', state]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('is not a folder of the http-basics lab');
  });

  it('check --watch cannot be combined with --json', async () => {
    const r = await labs(['check', '--watch', '--json'], lab);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('`--watch` cannot be combined with `--json`');
  });
});
