// The real `labs` binary, as a user runs it: scaffold into a temp dir, grade the starter and the solution.
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'labs.js');
let work: string;
let env: Record<string, string>;

function labs(args: string[], cwd = work) {
  return execa('node', [BIN, ...args], { cwd, reject: false, env, extendEnv: true, timeout: 60_000 });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'labs-e2e-'));
  env = { XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('labs CLI end to end', () => {
  it('--version and --help answer, exit 0', async () => {
    const version = await labs(['--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const help = await labs(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/start \[options\] <lab> \[dir\]/);
    for (const cmd of ['start', 'check', 'list', 'hint', 'info']) {
      const r = await labs([cmd, '--help']);
      expect(r.exitCode, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Usage: labs/);
    }
  });

  it('list --json gives the catalogue', async () => {
    const r = await labs(['list', '--json']);
    expect(r.exitCode).toBe(0);
    const labsJson = JSON.parse(r.stdout) as { id: string; checks: unknown[] }[];
    expect(labsJson.find((l) => l.id === 'http-basics')?.checks.length).toBeGreaterThan(5);
  });

  it('an unknown lab is exit 3 with a suggestion; an unknown command is exit 3', async () => {
    const r = await labs(['start', 'http-basic']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('There is no lab "http-basic". Did you mean "http-basics"?');
    expect((await labs(['info', 'nope'])).exitCode).toBe(3);
    const bad = await labs(['chek']);
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toMatch(/unknown command 'chek'.*Did you mean check\?/s);
  });

  it('check outside a lab folder is exit 3 and says what to do', async () => {
    const empty = join(work, 'not-a-lab');
    mkdirSync(empty);
    const r = await labs(['check'], empty);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/No labs.json here or in any parent folder.*labs start <lab>/s);
  });

  it('start scaffolds, and refuses a non-empty folder without --force', async () => {
    const r = await labs(['start', 'http-basics', 'hb', '--no-install']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Created HTTP basics.*in hb\//);
    for (const f of ['labs.json', 'README.md', 'package.json', 'src/server.ts', '.gitignore', 'Dockerfile']) expect(existsSync(join(work, 'hb', f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(work, 'hb', 'labs.json'), 'utf8'))).toEqual({ lab: 'http-basics', template: 'typescript', start: 'npm start' });

    writeFileSync(join(work, 'hb', 'notes.txt'), 'mine');
    const again = await labs(['start', 'http-basics', 'hb', '--no-install']);
    expect(again.exitCode).toBe(3);
    expect(again.stderr).toMatch(/is not empty.*--force/s);
    const forced = await labs(['start', 'http-basics', 'hb', '--no-install', '--force']);
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toMatch(/Replaced \d+ existing file\(s\): .*src\/server.ts/);
    expect(readFileSync(join(work, 'hb', 'notes.txt'), 'utf8')).toBe('mine');
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'hb', 'node_modules'), 'dir');
  });

  it('the untouched starter: exit 1, first check fails, curl reproduction shown; hint names it', async () => {
    const r = await labs(['check'], join(work, 'hb', 'src'));
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/✗ \[1\/10\] GET \/health/);
    expect(r.stdout).toMatch(/curl -i http:\/\/127\.0\.0\.1:\d+\/health/);
    expect(r.stdout).toMatch(/Hint: /);
    expect(r.stdout).toMatch(/\[your server\] listening on/);
    expect(r.stdout).toMatch(/FAILED 0 of 10 checks passed .* seed \d+/);
    const json = await labs(['check', '--json'], join(work, 'hb'));
    expect(json.exitCode).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.status).toBe('fail');
    expect(parsed.tests[0]).toMatchObject({ status: 'fail', check_id: 'health' });
    expect(parsed.tests[0].curl).toMatch(/^curl -i http:\/\/127\.0\.0\.1:\d+\/health$/);
    const hint = await labs(['hint'], join(work, 'hb'));
    expect(hint.exitCode).toBe(0);
    expect(hint.stdout).toMatch(/\[health\] \(failed in your last `labs check`\)/);
  });

  it('the solution laid over it: check --json exits 0 with every check passing', async () => {
    cpSync(join(ROOT, 'labs', 'http-basics', 'solution'), join(work, 'hb'), { recursive: true });
    const r = await labs(['check', '--json'], join(work, 'hb'));
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed).toMatchObject({ version: 3, status: 'pass', lab: 'http-basics' });
    expect(parsed.score).toBe(parsed.max_score);
    expect(parsed.tests.every((t: { status: string }) => t.status === 'pass')).toBe(true);
    const only = await labs(['check', '--only', 'echo-json', '--seed', '7'], join(work, 'hb'));
    expect(only.exitCode).toBe(0);
    expect(only.stdout).toMatch(/PASSED 1 of 1 checks passed .* seed 7/);
    const unknown = await labs(['check', '--only', 'echo'], join(work, 'hb'));
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/no check "echo". Did you mean "echo-json"\?/);
  });

  it('a server that cannot start is exit 2 with its output', async () => {
    writeFileSync(join(work, 'hb', 'src', 'server.ts'), 'console.log("about to fail");\nthrow new Error("boom at startup");\n');
    const r = await labs(['check'], join(work, 'hb'));
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/COULD NOT RUN/);
    expect(r.stdout).toMatch(/exited before it listened/);
    expect(r.stdout).toMatch(/\[your server\] .*boom at startup/);
  });
});
