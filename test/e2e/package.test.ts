// The package as npm ships it: `npm pack`, installed globally into a temporary prefix, used from an empty
// folder elsewhere, as a learner who ran `npm install -g backend-labs` would.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let work: string;
let bin: string;
let files: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'labs-pack-'));
  const packed = await execa('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
  const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  files = info.files.map((f) => f.path);
  // From npm's cache where it can (CI ran `npm ci` first); the registry otherwise.
  await execa('npm', ['install', '-g', '--prefix', join(work, 'prefix'), join(work, info.filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: work, timeout: 300_000 });
  bin = join(work, 'prefix', 'bin', 'labs');
}, 360_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the installed package', () => {
  it('ships the CLI, the engine, the labs and the templates, and nothing of the tests', () => {
    for (const f of ['bin/labs.js', 'cli/main.ts', 'grader/index.ts', 'labs/http-basics/lab.ts', 'labs/http-basics/README.md', 'labs/http-basics/solution/src/server.ts', 'templates/typescript/package.json']) expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith('test/') || f.includes('/mutants/') || f.startsWith('.ci/') || f.startsWith('node_modules/'))).toEqual([]);
  });

  it('labs --version answers the package version, quickly', async () => {
    const t0 = performance.now();
    const r = await execa(bin, ['--version']);
    const ms = performance.now() - t0;
    expect(r.stdout).toBe(VERSION);
    expect(ms).toBeLessThan(1000); // bench measures the 0.25 s goal on an idle machine; this is a loaded one
  });

  it('labs start in an empty folder elsewhere, then labs check passes with the reference solution laid over', { timeout: 180_000 }, async () => {
    const home = join(work, 'learner');
    const env = { XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' };
    cpSync(join(ROOT, 'README.md'), join(work, 'not-a-lab.md')); // the folder around is not empty; the lab folder is new
    const start = await execa(bin, ['start', 'http-basics', home], { cwd: work, env, reject: false });
    expect(start.exitCode, `${start.stdout}\n${start.stderr}`).toBe(0);
    expect(existsSync(join(home, 'package.json'))).toBe(true);
    const starter = await execa(bin, ['check'], { cwd: home, env, reject: false });
    expect(starter.exitCode, starter.stdout).toBe(1);
    cpSync(join(ROOT, 'labs', 'http-basics', 'solution'), home, { recursive: true });
    const solved = await execa(bin, ['check'], { cwd: home, env, reject: false });
    expect(solved.exitCode, `${solved.stdout}\n${solved.stderr}`).toBe(0);
    expect(solved.stdout).toMatch(/PASSED (\d+) of \1 checks passed/);
  });
});
