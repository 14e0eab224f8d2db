// The WebSocket and SSE labs against peers that connect and never speak, or answer the handshake with
// garbage: each run ends with a verdict that says so, within the check's budget, and leaves nothing running.
// (The probes alone are tested in ws-probe.test.ts and sse-probe.test.ts; here the whole run: lab checks,
// reports, teardown.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../grader/events.ts';
import { runLab } from '../../grader/run.ts';
import { groupAlive } from '../../grader/runtime/process-group.ts';
import { loadLab } from '../../labs/index.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'servers');

async function run(labId: string, server: string, only: string[]): Promise<{ result: RunResult; pids: number[]; elapsedMs: number }> {
  const lab = await loadLab(labId);
  const t0 = performance.now();
  const r = runLab({ lab, dir: FIXTURES, startCommand: `node ${server}`, seed: 7, only, all: true, readyTimeoutMs: 3000, requestTimeoutMs: 1500 });
  const pids: number[] = [];
  r.on((e) => {
    if (e.type === 'server-start' && e.pid) pids.push(e.pid);
  });
  const result = await r.result;
  return { result, pids, elapsedMs: performance.now() - t0 };
}

function expectNothingLeft(pids: number[]) {
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(groupAlive(pid), `process group ${pid} still alive`).toBe(false);
}

describe('realtime labs against silent and garbage peers', () => {
  it('websocket-chat, a server that accepts connections and never sends a byte: the handshake times out, said so, within the budget', async () => {
    const { result, pids, elapsedMs } = await run('websocket-chat', 'silent.js', ['rooms']);
    expect(result.status).toBe('fail');
    const rooms = result.checks.find((c) => c.id === 'rooms')!;
    expect(rooms.status).toBe('fail');
    expect(rooms.failure?.message).toMatch(/Could not open a WebSocket on \/chat\?token=.*handshake has timed out/i);
    expect(rooms.failure?.reproduce).toMatch(/^npx wscat -c 'ws:\/\/127\.0\.0\.1:\d+\/chat\?token=/);
    expect(rooms.durationMs).toBeLessThan(10_000 + 1000); // the check's budget
    expect(elapsedMs).toBeLessThan(20_000);
    expectNothingLeft(pids);
  });

  it('websocket-chat, a server that answers the upgrade with bytes that are not HTTP: a clear failure at once', async () => {
    const { result, pids } = await run('websocket-chat', 'garbage.js', ['rooms']);
    const rooms = result.checks.find((c) => c.id === 'rooms')!;
    expect(rooms.status).toBe('fail');
    expect(rooms.failure?.message).toMatch(/Could not open a WebSocket on \/chat/);
    expect(rooms.failure?.message).toMatch(/parse error|invalid|not valid|HPE_|Unexpected server response/i);
    expect(rooms.durationMs).toBeLessThan(3000);
    expectNothingLeft(pids);
  });

  it('websocket-chat, a server that completes the handshake and never sends a frame: the check names the message it waited for', async () => {
    const { result, pids } = await run('websocket-chat', 'ws-mute.js', ['rooms', 'sigterm']);
    const rooms = result.checks.find((c) => c.id === 'rooms')!;
    expect(rooms.status).toBe('fail');
    expect(rooms.failure?.message).toMatch(/waited \d+ ms for .*joined/i);
    expect(rooms.failure?.transcript).toMatch(/> \{"type":"join"/);
    expect(rooms.durationMs).toBeLessThan(10_000);
    const sigterm = result.checks.find((c) => c.id === 'sigterm')!;
    expect(sigterm.status).toBe('fail');
    expect(sigterm.durationMs).toBeLessThan(15_000);
    expectNothingLeft(pids);
  });

  it('websocket-chat, a server that dies on a handshake whose target is not a URL: the check names that request and the exit, nothing left', async () => {
    const { result, pids, elapsedMs } = await run('websocket-chat', 'ws-url-crash.js', ['handshake-garbage']);
    const c = result.checks.find((x) => x.id === 'handshake-garbage')!;
    expect(c.status).toBe('fail');
    expect(c.failure?.message).toMatch(/A request target that is not a URL \(`GET \/\/.*`\): your server exited \(exit code 1\)/);
    expect(c.failure?.reproduce).toMatch(/^printf 'GET \/\/.* \| nc 127\.0\.0\.1 \d+$/);
    expect(result.serverOutput.join('\n')).toMatch(/Invalid URL/);
    expect(c.durationMs).toBeLessThan(3000);
    expect(elapsedMs).toBeLessThan(10_000);
    expectNothingLeft(pids);
  });

  it('live-updates, a server that accepts connections and never sends a byte: no headers, said so, within the budget', async () => {
    const { result, pids } = await run('live-updates', 'silent.js', ['stream-opens']);
    const c = result.checks.find((x) => x.id === 'stream-opens')!;
    expect(c.status).toBe('fail');
    expect(c.failure?.message).toMatch(/\/events/);
    expect(c.failure?.reproduce).toMatch(/^curl -N/);
    expect(c.durationMs).toBeLessThan(5000);
    expectNothingLeft(pids);
  });

  it('live-updates, a stream whose headers arrive and then nothing: the check names the event it waited for', async () => {
    const { result, pids } = await run('live-updates', 'sse-mute.js', ['stream-opens', 'events']);
    expect(result.checks.find((x) => x.id === 'stream-opens')!.status).toBe('pass');
    const c = result.checks.find((x) => x.id === 'events')!;
    expect(c.status).toBe('fail');
    expect(c.failure?.message).toMatch(/waited \d+ ms for the event of item 1/);
    expect(c.durationMs).toBeLessThan(5000);
    expectNothingLeft(pids);
  });
});
