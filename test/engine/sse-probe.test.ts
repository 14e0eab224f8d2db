// The SSE probe against a small server of its own: parsing by the standard's rules, timing, transcripts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckFailure } from '../../grader/errors.ts';
import { SseProbe } from '../../grader/probe/sse.ts';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/silent') return; // never answers
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(`: hello\n\nid: 7\nevent: item\ndata: line one\ndata: line two\n\n`);
    // a UTF-8 character split across two writes
    const bytes = Buffer.from(`data: caf\u00e9 ${req.headers['last-event-id'] ?? '-'}\n\n`);
    res.write(bytes.subarray(0, 10));
    setTimeout(() => res.write(bytes.subarray(10)), 20);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('SseProbe', () => {
  it('parses ids, event types, multi-line data and comments, across split UTF-8', async () => {
    const probe = new SseProbe(base);
    const s = await probe.open('/events', { lastEventId: '6' });
    const item = await s.expectEvent((e) => e.event === 'item', 1000, 'the item');
    expect(item).toMatchObject({ id: '7', data: 'line one\nline two' });
    const plain = await s.expectEvent((e) => e.event === 'message', 1000, 'the plain event');
    expect(plain.data).toBe('café 6');
    expect(s.comments.map((c) => c.text.trim())).toEqual(['hello']);
    const f = await s.expectEvent(() => false, 50, 'nothing').then(() => undefined, (e: unknown) => e as CheckFailure);
    expect(f).toBeInstanceOf(CheckFailure);
    expect(f!.details.transcript).toMatch(/< id: 7 event: item data: line one\nline two/);
    expect(f!.details.reproduce).toBe(`curl -N -i -H 'Accept: text/event-stream' -H 'Last-Event-ID: 6' ${base}/events`);
    probe.closeAll();
  });

  it('a server that sends no headers fails within the budget, saying so', async () => {
    const probe = new SseProbe(base);
    const t0 = performance.now();
    const f = await probe.open('/silent', { timeoutMs: 300 }).then(() => undefined, (e: unknown) => e as CheckFailure);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(f?.details.message).toMatch(/sent no response headers within 300 ms/);
  });
});
