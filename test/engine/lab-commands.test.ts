// Lab commands (grader/runtime/command.ts): how arguments are appended, what labs.json may say, and a command
// that hangs killed at its budget with everything it started. The database side (connections ended after a
// kill) is tested with PostgreSQL in test/labs/migrations.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandLine, describeCommand, runCommand, shellQuote } from '../../grader/runtime/command.ts';
import { readManifest } from '../../grader/manifest.ts';

const dir = mkdtempSync(join(tmpdir(), 'labs-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lab commands', () => {
  it('appends arguments shell-quoted, after `--` for an npm script', () => {
    expect(commandLine('npm run migrate', ['up', '1'])).toBe('npm run migrate -- up 1');
    expect(commandLine('npm run migrate -- --verbose', ['down'])).toBe('npm run migrate -- --verbose down');
    expect(commandLine('python3 migrate.py', ['up'])).toBe('python3 migrate.py up');
    expect(commandLine('knex migrate:latest', [])).toBe('knex migrate:latest');
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
  });

  it('labs.json: commands must be non-empty strings by name', () => {
    const file = join(dir, 'labs.json');
    writeFileSync(file, JSON.stringify({ lab: 'migrations', template: 'typescript', start: 'npm start', commands: { migrate: 'npm run migrate' } }));
    expect(readManifest(file).commands).toEqual({ migrate: 'npm run migrate' });
    writeFileSync(file, JSON.stringify({ lab: 'migrations', template: 'typescript', start: 'npm start', commands: { migrate: '' } }));
    expect(() => readManifest(file)).toThrow(/`commands.migrate` to be a non-empty command/);
    writeFileSync(file, JSON.stringify({ lab: 'migrations', template: 'typescript', start: 'npm start', commands: ['npm run migrate'] }));
    expect(() => readManifest(file)).toThrow(/`commands` to be an object/);
  });

  it('runs to completion with the env given, keeping exit code and output', async () => {
    const r = await runCommand({ command: 'sh -c \'echo "db=$DATABASE_URL args=$*"; echo oops >&2; exit 3\' x', args: ['up', "it's"], cwd: dir, env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://x' }, timeoutMs: 10_000 });
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
    expect(r.output).toEqual(["db=postgres://x args=up it's", 'oops']);
    expect(describeCommand(r)).toMatch(/exit code 3/);
  });

  it('a command that hangs is killed at its budget, its whole process group with it', { timeout: 30_000 }, async () => {
    // The shell starts a background sleeper that ignores SIGTERM, then hangs itself.
    const pidFile = join(dir, 'child.pid');
    const r = await runCommand({
      command: `sh -c 'trap "" TERM; sleep 300 & echo $! > ${pidFile}; echo started; wait'`,
      args: [],
      cwd: dir,
      env: { PATH: process.env.PATH },
      timeoutMs: 1000,
    });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.output).toContain('started');
    expect(describeCommand(r)).toMatch(/killed \(process group, SIGTERM then SIGKILL\)/);
    const { readFileSync } = await import('node:fs');
    const child = Number(readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie nobody reaped yet (its parent, the shell, was killed too): not running either way.
    let state = 'gone';
    try {
      const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
    } catch {
      // gone
    }
    expect(['gone', 'Z', 'X'], 'the background sleeper was killed too').toContain(state);
  });
});
