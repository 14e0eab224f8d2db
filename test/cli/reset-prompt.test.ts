// `labs reset` asks first when it has a terminal: "n" (or nothing) changes nothing, "y" resets.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runReset } from '../../cli/commands/reset.ts';
import { ProgressStore } from '../../cli/progress.ts';
import { scaffold } from '../../cli/scaffold.ts';
import { loadLab } from '../../labs/index.ts';

let work: string;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'labs-reset-'));
  env = { XDG_STATE_HOME: join(work, 'state'), NO_COLOR: '1' };
  dir = join(work, 'http-basics');
  scaffold({ lab: await loadLab('http-basics'), dir });
  writeFileSync(join(dir, 'src', 'server.ts'), '// my work\n');
  new ProgressStore({ env }).recordStart('http-basics', dir);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A terminal whose user types `answer` once the question has been asked. */
function terminal(answer: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode() {} });
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.includes('Reset it? [y/N]') && !stdin.writableEnded) stdin.end(`${answer}\n`);
  });
  return { stdin, stdout, output: () => text };
}

it('"n" changes nothing (exit 1)', async () => {
  const t = terminal('n');
  const code = await runReset('http-basics', { install: false }, work, { stdin: t.stdin, stdout: t.stdout, env });
  expect(code).toBe(1);
  expect(t.output()).toContain(`move ./http-basics to ./http-basics.backup-`);
  expect(t.output()).toContain('Cancelled: nothing changed.');
  expect(readFileSync(join(dir, 'src', 'server.ts'), 'utf8')).toBe('// my work\n');
  expect(readdirSync(work).filter((n) => n.includes('.backup-'))).toEqual([]);
});

it('"y" moves the folder to a backup and writes a fresh starter', async () => {
  const t = terminal('y');
  const code = await runReset('http-basics', { install: false }, work, { stdin: t.stdin, stdout: t.stdout, env, now: () => new Date(2025, 0, 31, 14, 5) });
  expect(code).toBe(0);
  const backup = join(work, 'http-basics.backup-2025-01-31-1405');
  expect(readFileSync(join(backup, 'src', 'server.ts'), 'utf8')).toBe('// my work\n');
  expect(existsSync(join(dir, 'labs.json'))).toBe(true);
  expect(readFileSync(join(dir, 'src', 'server.ts'), 'utf8')).not.toBe('// my work\n');
  expect(t.output()).toContain('To undo: rm -rf ./http-basics && mv ./http-basics.backup-2025-01-31-1405 ./http-basics');
});
