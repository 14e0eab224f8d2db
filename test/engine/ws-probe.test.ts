// The WebSocket probe against small servers of its own: what a check sees and what a failure shows.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckFailure } from '../../grader/errors.ts';
import { rawFrame, WsProbe } from '../../grader/probe/ws.ts';

let server: Server;
let wss: WebSocketServer;
let base: string;
const silent: import('node:stream').Duplex[] = [];

beforeAll(async () => {
  server = createServer((_req, res) => res.end('plain http'));
  wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/garbage') return void socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    if (req.url === '/silent') return void silent.push(socket); // accepts the TCP connection, never answers the handshake
    if (req.url?.startsWith('/deny')) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"error":"token"}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {}); // oversize and unmasked frames below: ws closes with 1009 / 1002 and emits this
      if (req.url === '/accept-then-close') return ws.close(1008, 'unauthorized');
      ws.on('message', (data) => ws.send(`echo:${data.toString()}`));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const c of wss.clients) c.terminate();
  server.closeAllConnections();
  for (const s of silent) s.destroy();
  await new Promise((r) => server.close(r));
});

async function failureOf(p: Promise<unknown>): Promise<CheckFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CheckFailure);
  return err as CheckFailure;
}

describe('WsProbe', () => {
  it('a refused handshake reports the HTTP answer and a wscat reproduction', async () => {
    const probe = new WsProbe(base);
    const f = await failureOf(probe.connect('/deny?token=x', { headers: { 'X-Test': '1' } }));
    expect(f.details.message).toMatch(/answered HTTP 401 instead of 101/);
    expect(f.details.received).toMatch(/HTTP 401[\s\S]*\{"error":"token"\}/);
    expect(f.details.reproduce).toBe(`npx wscat -c '${base}/deny?token=x' -H 'X-Test: 1'`);
  });

  it('expectRefused returns the refusal, and fails on an upgrade even if the server closes right after', async () => {
    const probe = new WsProbe(base);
    const r = await probe.expectRefused('/deny', { status: 401, why: 'Without a token' });
    expect(r.status).toBe(401);
    const f = await failureOf(probe.expectRefused('/accept-then-close', { status: 401, why: 'With a bad token' }));
    expect(f.details.message).toMatch(/answered 101 Switching Protocols/);
    probe.closeAll();
  });

  it('records a transcript both ways with times, and fails expectMessage naming what was awaited', async () => {
    const probe = new WsProbe(base);
    const c = await probe.connect('/echo', { name: 'alice' });
    c.send({ hello: 'world' });
    expect(await c.expectMessage((_m, raw) => raw.text.startsWith('echo:'), 2000, 'the echo')).toBe('echo:{"hello":"world"}');
    const f = await failureOf(c.expectMessage(() => false, 100, 'a message that never comes'));
    expect(f.details.message).toMatch(/alice waited 100 ms for a message that never comes/);
    expect(f.details.transcript).toMatch(/> \{"hello":"world"\}[\s\S]*< echo:\{"hello":"world"\}/);
    expect(f.details.transcript).toMatch(/^alice:\n\s+\d+ ms ! connected/);
    probe.closeAll();
  });

  it('an oversize message is answered with close 1009; an unmasked frame from a client with 1002', async () => {
    const probe = new WsProbe(base);
    const big = await probe.connect('/echo');
    big.send('x'.repeat(2000));
    expect((await big.expectClose(1009, 2000, 'too big')).code).toBe(1009);
    const raw = await probe.connect('/echo');
    raw.sendRaw(rawFrame(0x1, Buffer.from('hi'), false), 'unmasked text frame');
    expect((await raw.expectClose(1002, 2000, 'protocol error')).code).toBe(1002);
    probe.closeAll();
  });

  it('a server that answers the upgrade with plain HTTP, or never answers it: a clear failure within the budget', async () => {
    const probe = new WsProbe(base);
    const garbage = await failureOf(probe.connect('/garbage'));
    expect(garbage.details.message).toMatch(/answered HTTP 200 instead of 101/);
    const t0 = performance.now();
    const silent = await failureOf(probe.connect('/silent', { timeoutMs: 300 }));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(silent.details.message).toMatch(/Could not open a WebSocket on \/silent: .*handshake has timed out/i);
    probe.closeAll();
  });

  it('raw handshakes report the status line, a close or silence; silent clients stay open until closeAll', async () => {
    const probe = new WsProbe(base);
    const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    const denied = await probe.rawHandshake(head('/deny'));
    expect(denied).toMatchObject({ kind: 'answer', status: 401, statusLine: 'HTTP/1.1 401 Unauthorized' });
    expect(denied.reproduce).toMatch(/^printf 'GET \/deny HTTP\/1\.1\\015\\012Host: x.*' \| nc 127\.0\.0\.1 \d+$/);
    expect(await probe.rawHandshake(head('/echo'))).toMatchObject({ kind: 'answer', status: 101 });
    const t0 = performance.now();
    expect(await probe.rawHandshake(head('/silent'), 300)).toMatchObject({ kind: 'silent' });
    expect(performance.now() - t0).toBeLessThan(1500);
    const before = silent.length;
    const quiet = await Promise.all([probe.silent(), probe.silent('GET /sil')]);
    await new Promise((r) => setTimeout(r, 100));
    expect(quiet.map((q) => q.closed)).toEqual([false, false]);
    probe.closeAll();
    expect(quiet.map((q) => q.closed)).toEqual([true, true]);
    expect(silent.length).toBe(before); // the silent clients never made a request
  });

  it('a hundred clients at once, each transcript bounded (first and latest frames)', async () => {
    const probe = new WsProbe(base);
    const clients = await probe.connectMany(100, () => ({ path: '/echo' }));
    for (const c of clients) for (let i = 0; i < 200; i++) c.send(`m${i}`);
    await Promise.all(clients.map((c) => c.expectMessage((_m, raw) => raw.text === 'echo:m199', 5000, 'the last echo')));
    const t = clients[0]!.transcript();
    expect(t).toMatch(/frames not shown/);
    expect(t.split('\n').length).toBeLessThan(100);
    probe.closeAll();
  });
});
