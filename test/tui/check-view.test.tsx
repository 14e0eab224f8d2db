// The live check view, driven by a hand-held run: each step awaits the frame it should produce.
import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import { render, cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckApp, renderCheck } from '../../cli/tui/check.tsx';
import { bufferRun } from '../../cli/tui/run-source.ts';
import { FakeRun, waitForFrame, waitForText } from './ink-helpers.ts';
import { CHECKS, failHealth, LAB, pass, result } from './fixtures.ts';

afterEach(() => cleanup());

function start(run: FakeRun) {
  run.emit({ type: 'run-start', lab: LAB, seed: 42, checks: CHECKS, dir: '/lab', startCommand: 'npm start' });
}

describe('CheckApp (labs check in a terminal)', () => {
  it('shows the phase while the server starts, then a spinner with the running check, then finished checks', async () => {
    const run = new FakeRun();
    const source = bufferRun(run);
    start(run); // before the view subscribes: buffered, not lost
    run.emit({ type: 'phase', phase: 'ready' });
    run.emit({ type: 'server-start', command: 'npm start', port: 4321 });
    const r = render(<CheckApp source={source} />);
    let f = await waitForText(r, 'Waiting for your server to listen on port 4321');
    expect(f).toContain(`${LAB.title} (http-basics) · 3 checks · seed 42`);

    run.emit({ type: 'check-start', id: 'health', title: CHECKS[0].title, index: 0, total: 3 });
    f = await waitForText(r, `[1/3] ${CHECKS[0].title}`);
    expect(f).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \[1\/3\] GET \/health answers 200 \d+ ms/);

    run.emit({ type: 'check-note', id: 'health', message: 'retrying once' });
    await waitForText(r, 'retrying once');

    run.emit({ type: 'check-end', result: pass('health', 12), index: 0, total: 3 });
    run.emit({ type: 'check-start', id: 'home-page', title: CHECKS[1].title, index: 1, total: 3 });
    f = await waitForText(r, `[2/3] ${CHECKS[1].title}`);
    expect(f).toContain(`✓ [1/3] ${CHECKS[0].title} (12 ms)`);
  });

  it('a failure expands to sent, expected, received, curl, hint and the server last lines; the summary closes the run', async () => {
    const run = new FakeRun();
    const r = render(<CheckApp source={bufferRun(run)} />);
    start(run);
    run.emit({ type: 'check-start', id: 'health', title: CHECKS[0].title, index: 0, total: 3 });
    run.emit({ type: 'check-end', result: failHealth(), index: 0, total: 3 });
    run.emit({ type: 'phase', phase: 'teardown' });
    await waitForText(r, 'Stopping your server');
    run.end(result([failHealth(), { ...pass('home-page'), status: 'skip' }, { ...pass('echo-json'), status: 'skip' }]));
    const f = await waitForText(r, 'FAILED');
    const expected = [
      `✗ [1/3] ${CHECKS[0].title} [health] (31 ms)`,
      'GET /health must answer exactly {"status":"ok"}.',
      'Sent:',
      'GET /health',
      'Expected:',
      '{"status":"ok"}',
      'Received:',
      'HTTP 404',
      'not implemented yet',
      'Reproduce (with your server running: PORT=4321 npm start):',
      "curl -i http://127.0.0.1:4321/health -H 'accept: application/json'",
      'Hint: Route GET /health to a handler that sends {"status":"ok"}.',
      "Your server's last lines:",
      '[your server] GET /health',
      '2 more checks not run: stopped at the first failure',
      'FAILED 0 of 3 checks passed · 1.2 s · seed 42 (replay: labs check --seed 42)',
    ];
    let at = 0;
    for (const text of expected) {
      const i = f.indexOf(text, at);
      expect(i, `"${text}" after position ${at} in:\n${f}`).toBeGreaterThanOrEqual(0);
      at = i;
    }
    expect(f).not.toContain('Stopping your server');
  });

  it('renderCheck resolves once the result is drawn (the app exits by itself)', async () => {
    const run = new FakeRun();
    const source = bufferRun(run);
    const written: string[] = [];
    const stdout = Object.assign(new EventEmitter(), { columns: 100, rows: 40, isTTY: true, write: (s: string) => (written.push(s), true) });
    const stdin = Object.assign(new EventEmitter(), { isTTY: false, setEncoding() {}, resume() {}, pause() {}, ref() {}, unref() {} });
    const done = renderCheck(source, { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, stderr: stdout as unknown as NodeJS.WriteStream });
    start(run);
    run.end(result([pass('health'), pass('home-page'), pass('echo-json')]));
    await done;
    expect(stripVTControlCharacters(written.join(''))).toContain('PASSED 3 of 3 checks passed · 1.2 s · seed 42');
  });

  it('could not run: the reason and the server output', async () => {
    const run = new FakeRun();
    const r = render(<CheckApp source={bufferRun(run)} />);
    start(run);
    run.end(
      result([], {
        status: 'error',
        exitCode: 2,
        message: 'Your server exited before it listened on port 4321 (exit code 1).',
        serverOutput: ['Error: Cannot find module express'],
      }),
    );
    const f = await waitForFrame(r, (x) => x.includes('COULD NOT RUN'));
    expect(f).toContain('✗ Your server exited before it listened on port 4321 (exit code 1).');
    expect(f).toContain('[your server] Error: Cannot find module express');
  });

  it('verbose: the server output scrolls up as it comes', async () => {
    const run = new FakeRun();
    const r = render(<CheckApp source={bufferRun(run)} verbose />);
    start(run);
    run.emit({ type: 'server-output', stream: 'stdout', line: 'listening on 4321' });
    await waitForText(r, '[your server] listening on 4321');
  });
});
