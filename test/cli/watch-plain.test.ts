// `labs check --watch` through the real binary, not in a terminal: plain output per run, framed by what
// changed; every verdict recorded in progress; Ctrl-C (SIGINT) stops it with exit 130.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'labs.js');
let work: string;
let lab: string;
const env = () => ({ XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'labs-watchplain-'));
  await execa('node', [BIN, 'start', 'http-basics', '--no-install'], { cwd: work, env: env() });
  lab = join(work, 'http-basics');
  symlinkSync(join(ROOT, 'node_modules'), join(lab, 'node_modules'), 'dir');
  cpSync(join(ROOT, 'labs/http-basics/solution'), lab, { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('re-runs on a save, says what changed and what it changed, records each verdict, stops on SIGINT', async () => {
  const child = execa('node', [BIN, 'check', '--watch'], { cwd: lab, env: env(), reject: false });
  let out = '';
  const waiters: { text: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      if (!w.text.test(out)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const waitFor = (text: RegExp) => new Promise<void>((resolve) => (text.test(out) ? resolve() : waiters.push({ text, resolve })));

  await waitFor(/PASSED 10 of 10 checks passed[\s\S]*Watching for changes/);
  expect(out).toMatch(/^Watching .*http-basics \(file events; node_modules and build output ignored\)/);
  expect(out).toContain('── run 1 · first run ──');

  const server = join(lab, 'src', 'server.ts');
  writeFileSync(server, readFileSync(server, 'utf8').replace("{ status: 'ok' }", "{ status: 'okay' }"));
  await waitFor(/now failing: health · verdict [\d.]+ (ms|s) after the save/);
  expect(out).toContain('── run 2 · src/server.ts changed ──');
  expect(out).toMatch(/✗ \[1\/10\] GET \/health[\s\S]*"status": "okay"[\s\S]*FAILED 0 of 10/);

  child.kill('SIGINT');
  const result = await child;
  expect(result.exitCode).toBe(130);
  expect(out).toContain('Stopped watching.');
  const progress = JSON.parse(readFileSync(join(work, 'state', 'backend-labs', 'progress.json'), 'utf8'));
  expect(progress.labs['http-basics']).toMatchObject({ attempts: 2, last: { status: 'fail', failed: ['health'] }, passedAt: expect.any(String) });
});
