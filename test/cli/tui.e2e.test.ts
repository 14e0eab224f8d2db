// The real `labs` binary in a real terminal (tmux), as a learner uses it: open the home screen, filter,
// start a lab, check it, quit; and `labs check --watch` reacting to a save. Assertions are on the
// captured screen; every step waits for the screen to show its result.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'labs.js');
const SOCKET = `labs-e2e-${process.pid}`;
let work: string;
let state: string;
let session = '';
let sessions = 0;

const tmux = (...args: string[]) => execa('tmux', ['-L', SOCKET, ...args]);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `labs <args>` in a fresh 120x45 terminal; the pane stays after it exits and says how. */
async function openTerminal(args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  session = `s${++sessions}`;
  const env = { XDG_STATE_HOME: state, LABS_NO_INSTALL: '1', TERM: 'xterm-256color', ...extraEnv };
  const command = `env -u CI -u NO_COLOR ${Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`).join(' ')} node ${quote(BIN)} ${args.map(quote).join(' ')}; echo "[labs exited $?]"; exec sleep 600`;
  await tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '45', '-c', cwd, command);
}

async function screen(): Promise<string> {
  const { stdout } = await tmux('capture-pane', '-p', '-J', '-t', session);
  return stdout;
}

/** Waits until the screen satisfies `predicate` (polling the captured pane); fails with the last screen. */
async function waitForScreen(predicate: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await screen();
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50)); // polling interval of the terminal capture, not a synchronisation
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}. Screen:\n${last}`);
}
const waitFor = (text: string, timeoutMs?: number) => waitForScreen((s) => s.includes(text), JSON.stringify(text), timeoutMs);
const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
const type = (text: string) => tmux('send-keys', '-t', session, '-l', text);

/** For the report: the screen without trailing blank lines. */
function show(name: string, text: string) {
  process.stdout.write(`\n----- ${name} -----\n${text.replace(/\s+$/, '')}\n-----\n`);
}

beforeAll(() => {
  execaSync('tmux', ['-V']); // tmux is required: fail loudly when it is missing
  work = mkdtempSync(join(tmpdir(), 'labs-tui-'));
  state = join(work, 'state');
});
afterEach(async () => {
  await tmux('kill-session', '-t', session).catch(() => {});
});
afterAll(async () => {
  await tmux('kill-server').catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

describe('labs in a terminal', () => {
  it('open, filter, start a lab, quit', async () => {
    const cwd = mkdtempSync(join(work, 'home-'));
    await openTerminal([], cwd);
    const opened = await waitFor('interview questions ready');
    expect(opened).toMatch(/❯ http-basics +new/);
    expect(opened).toContain('type to filter');

    await type('basics');
    const filtered = await waitFor('Filter: basics');
    expect(filtered).toMatch(/1 match\b/);
    expect(filtered).toMatch(/❯ http-basics +new/);
    expect(filtered).not.toContain('sql-crud');
    expect(filtered).toContain('31. What is a backend in web development?');
    show('home screen, filtered', filtered);

    await keys('Enter');
    const started = await waitFor('Started HTTP basics');
    expect(started).toMatch(/❯ http-basics +started/);
    expect(started).toContain('in ./http-basics (');
    expect(started).toContain('Enter check it in ./http-basics');
    show('after Enter: started', started);
    expect(JSON.parse(readFileSync(join(cwd, 'http-basics', 'labs.json'), 'utf8')).lab).toBe('http-basics');
    const progress = JSON.parse(readFileSync(join(state, 'backend-labs', 'progress.json'), 'utf8'));
    expect(progress.labs['http-basics'].dir).toBe(join(cwd, 'http-basics'));

    await keys('q');
    await waitFor('[labs exited 0]');
  });

  it('Enter on a started lab checks it live in its folder; the failure is expanded; back to the list', async () => {
    const cwd = mkdtempSync(join(work, 'check-'));
    await execa('node', [BIN, 'start', 'http-basics', '--no-install'], { cwd, env: { XDG_STATE_HOME: state } });
    symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'http-basics', 'node_modules'), 'dir');
    await openTerminal([], cwd);
    await waitFor('Enter check it in ./http-basics');
    await keys('Enter');
    const failed = await waitFor('Enter back to the list');
    expect(failed).toContain('✗ [1/');
    expect(failed).toContain('Sent:');
    expect(failed).toContain('Received:');
    expect(failed).toMatch(/curl -i http:\/\/127\.0\.0\.1:\d+\/health/);
    expect(failed).toContain('Hint:');
    expect(failed).toContain("Your server's last lines:");
    expect(failed).toMatch(/FAILED 0 of \d+ checks passed · [\d.]+ (ms|s) · seed \d+/);
    show('check in the home screen, failed', failed);
    await keys('Enter');
    const back = await waitFor('Last run');
    expect(back).toMatch(/failing: health/);
    await keys('q');
    await waitFor('[labs exited 0]');
  });

  it('labs check --watch: a save re-runs the checks and the new verdict replaces the last one', async () => {
    const cwd = mkdtempSync(join(work, 'watch-'));
    await execa('node', [BIN, 'start', 'http-basics', '--no-install'], { cwd, env: { XDG_STATE_HOME: state } });
    const lab = join(cwd, 'http-basics');
    symlinkSync(join(ROOT, 'node_modules'), join(lab, 'node_modules'), 'dir');
    cpSync(join(ROOT, 'labs/http-basics/solution'), lab, { recursive: true });
    await openTerminal(['check', '--watch'], lab);
    await waitFor('run 1 · first run → PASSED');

    const server = join(lab, 'src', 'server.ts');
    const good = readFileSync(server, 'utf8');
    const bad = good.replace("{ status: 'ok' }", "{ status: 'okay' }");
    expect(bad).not.toBe(good);
    const latencies: number[] = [];
    for (let n = 2; n <= 5; n++) {
      writeFileSync(server, n % 2 === 0 ? bad : good);
      const verdict = n % 2 === 0 ? 'FAILED' : 'PASSED';
      const text = await waitForScreen((s) => new RegExp(`run ${n} · src/server.ts changed → ${verdict}`).test(s), `run ${n} ${verdict}`);
      const ms = new RegExp(`run ${n} · src/server.ts changed → ${verdict}.*verdict ([\\d.]+) (ms|s) after the save`).exec(text.replace(/\n/g, ' '));
      expect(ms, text).not.toBeNull();
      latencies.push(ms![2] === 's' ? Number(ms![1]) * 1000 : Number(ms![1]));
      if (n === 2) {
        expect(text).toContain('now failing: health');
        show('labs check --watch after a save', text);
      }
      if (n === 3) expect(text).toContain('now passing: health');
    }
    process.stdout.write(`save-to-verdict (ms) on http-basics: ${latencies.join(', ')}\n`);
    await keys('q');
    await waitFor('[labs exited');
    expect(existsSync(join(lab, '.labs', 'last-check.json'))).toBe(true);
  });
});
