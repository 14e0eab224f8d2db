// The watch view: driven by a real WatchSession whose runs the test holds, on a real folder.
import React from 'react';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchApp } from '../../cli/tui/watch.tsx';
import { bufferWatch } from '../../cli/tui/run-source.ts';
import { WatchSession } from '../../cli/watch/session.ts';
import { FakeRun, inputReady, KEYS, renderApp, waitForText } from './ink-helpers.ts';
import { CHECKS, failHealth, LAB, pass, result } from './fixtures.ts';

let root: string;
let session: WatchSession | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'labs-watchview-'));
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'server.ts'), 'v1');
});
afterEach(async () => {
  await session?.stop();
  rmSync(root, { recursive: true, force: true });
});

it('keeps the last verdict on screen, shows what changed and the run in progress, logs verdicts; Enter re-runs, q stops', async () => {
  const runs: FakeRun[] = [];
  session = new WatchSession({
    dir: root,
    makeRun: () => {
      const r = new FakeRun();
      r.onAbort = () => r.end(result([], { status: 'error', exitCode: 130 }));
      runs.push(r);
      return r;
    },
    watcher: { debounceMs: 30 },
  });
  const feed = bufferWatch(session);
  session.start();
  const s = session;
  const app = renderApp(<WatchApp feed={feed} interactive onQuit={() => void s.stop()} onRerun={() => s.rerun()} />);
  await waitForText(app, `Watching ${root} (file events`);
  await inputReady(app);

  // Run 1 fails on health.
  runs[0].emit({ type: 'run-start', lab: LAB, seed: 1, checks: CHECKS, dir: root, startCommand: 'npm start' });
  runs[0].emit({ type: 'check-start', id: 'health', title: CHECKS[0].title, index: 0, total: 3 });
  await waitForText(app, `[1/3] ${CHECKS[0].title}`);
  runs[0].emit({ type: 'check-end', result: failHealth(), index: 0, total: 3 });
  runs[0].end(result([failHealth(), { ...pass('home-page'), status: 'skip' }, { ...pass('echo-json'), status: 'skip' }]));
  let f = await waitForText(app, 'Last verdict: run 1 · first run');
  expect(f).toContain('run 1 · first run → FAILED 0 of 3 · failing health');
  expect(f).toContain("curl -i http://127.0.0.1:4321/health -H 'accept: application/json'");

  // A save: run 2 starts, the last verdict stays on screen meanwhile.
  await s.ready;
  writeFileSync(join(root, 'src', 'server.ts'), 'v2');
  f = await waitForText(app, 'Run 2 · src/server.ts changed');
  expect(f).toContain('Last verdict: run 1');
  runs[1].emit({ type: 'run-start', lab: LAB, seed: 2, checks: CHECKS, dir: root, startCommand: 'npm start' });
  for (const [i, id] of ['health', 'home-page', 'echo-json'].entries()) runs[1].emit({ type: 'check-end', result: pass(id), index: i, total: 3 });
  f = await waitForText(app, '✓ 3 of 3 passed');
  runs[1].end(result([pass('health'), pass('home-page'), pass('echo-json')]));
  f = await waitForText(app, 'Last verdict: run 2 · src/server.ts changed');
  expect(f).toMatch(/run 2 · src\/server.ts changed → PASSED 3 of 3 · verdict \d+ ms after the save/);
  expect(f).toContain('now passing: health, home-page, echo-json');
  expect(f).toContain('PASSED 3 of 3 checks passed');

  app.stdin.write(KEYS.enter);
  await waitForText(app, 'Run 3 · run again');
  app.stdin.write('q');
  await app.exited;
  expect(runs[2].aborted).toBe('stopped watching');
});

it('says when it polls, and why', async () => {
  session = new WatchSession({
    dir: root,
    makeRun: () => {
      const r = new FakeRun();
      r.onAbort = () => r.end(result([], { status: 'error', exitCode: 130 }));
      return r;
    },
    watcher: { forcePoll: 'LABS_WATCH_POLL=1 is set' },
  });
  const feed = bufferWatch(session);
  session.start();
  const app = renderApp(<WatchApp feed={feed} />);
  const f = await waitForText(app, '! Polling for changes: LABS_WATCH_POLL=1 is set, so it is polled every 400 ms instead.');
  expect(f).toContain('(polling)');
  expect(f).toContain('Ctrl-C stops watching');
  app.unmount();
});
