// Grader-hosted backends: each behaviour as a client (the learner's proxy) sees it, and what they record.
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { hostBackends, type BackendPool } from '../../grader/probe/backends.ts';
import type { EnvContext } from '../../grader/types.ts';

const teardown: (() => Promise<void>)[] = [];
const run: EnvContext = {
  tempDir: () => {
    throw new Error('unused');
  },
  hostHttp: () => {
    throw new Error('unused');
  },
  hostAddress: { bind: '127.0.0.1', urlHost: '127.0.0.1' },
  onTeardown: (close) => teardown.push(close),
};

afterEach(async () => {
  await Promise.all(teardown.splice(0).map((c) => c()));
});

interface Answer {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  error?: string;
  ms: number;
}

function send(url: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer; timeoutMs?: number } = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
    });
    req.setTimeout(options.timeoutMs ?? 3000, () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, ms: performance.now() - t0 }));
    req.end(options.body);
  });
}

describe('grader-hosted backends', () => {
  let pool: BackendPool;

  it('echo: answers 200 naming the backend, records raw headers in order and case, body size and digest', async () => {
    pool = await hostBackends(run, ['a', 'b']);
    const a = pool.get('a');
    const body = Buffer.alloc(200_000, 7);
    const res = await send(a.url, '/x?y=1', { method: 'POST', headers: { 'X-Forwarded-For': '10.0.0.1', 'content-type': 'application/octet-stream' }, body });
    expect(res.status).toBe(200);
    expect(res.headers?.['x-backend']).toBe('a');
    const echo = JSON.parse(res.body!);
    expect(echo).toMatchObject({ backend: 'a', method: 'POST', path: '/x?y=1', bodyBytes: 200_000 });
    const [r] = a.requests;
    expect(r!.rawHeaders).toContain('X-Forwarded-For');
    expect(r!.bodyBytes).toBe(200_000);
    expect(r!.bodyHead.length).toBe(64 * 1024);
    expect(r!.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r!.firstBodyByteAt).toBeDefined();
    expect(pool.get('b').requests).toEqual([]);
    expect(pool.counts()).toEqual({ a: 1, b: 0 });
  });

  it('delay, status, reset and hang behave as a proxy would see them', async () => {
    pool = await hostBackends(run, ['a']);
    const a = pool.get('a');
    a.behave({ kind: 'delay', ms: 300 });
    const slow = await send(a.url, '/');
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(290);
    a.behave({ kind: 'status', status: 503 });
    expect((await send(a.url, '/')).status).toBe(503);
    a.behave({ kind: 'reset' });
    expect((await send(a.url, '/')).error).toMatch(/ECONNRESET|socket hang up/);
    a.behave({ kind: 'hang' });
    const hung = await send(a.url, '/', { timeoutMs: 400 });
    expect(hung.error).toBe('timeout');
    expect(a.requests.length).toBe(4);
  });

  it('stop refuses connections on the same port until start; reset brings every backend back', async () => {
    pool = await hostBackends(run, ['a'], { healthPath: '/health' });
    const a = pool.get('a');
    await a.stop();
    expect((await send(a.url, '/')).error).toBe('ECONNREFUSED');
    await pool.reset();
    expect((await send(a.url, '/')).status).toBe(200);
    a.setHealthy(false);
    const health = await send(a.url, '/health');
    expect(health.status).toBe(503);
    expect(a.healthProbes.length).toBe(1);
    expect(a.requests.length).toBe(1); // health probes are not requests
    await pool.reset();
    expect((await send(a.url, '/health')).status).toBe(200);
    expect(a.requests).toEqual([]);
  });

  it('closes at teardown: nothing listens afterwards', async () => {
    pool = await hostBackends(run, ['a']);
    const url = pool.get('a').url;
    await Promise.all(teardown.splice(0).map((c) => c()));
    expect((await send(url, '/')).error).toBe('ECONNREFUSED');
  });
});
