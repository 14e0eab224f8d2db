// The grader's fault network: each link a TCP proxy; partitions blackhole, heal cuts what they held, delay
// delays, reset resets, and every fault is in the transcript with its time.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { CLIENT, FaultNetwork } from '../../grader/net/fault-network.ts';

const servers: Server[] = [];
let net: FaultNetwork | undefined;

afterEach(async () => {
  await net?.close();
  net = undefined;
  for (const s of servers.splice(0)) s.close();
});

/** A node that answers each line with "<id>:<line>". */
async function node(id: number): Promise<number> {
  const server = createServer((s) => {
    s.setEncoding('utf8');
    s.on('data', (d: string) => s.write(`${id}:${d}`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

function ask(address: string, line: string, timeoutMs = 500): Promise<string> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s: Socket = connect({ host, port: Number(port) });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(line));
    s.on('data', (d: string) => {
      clearTimeout(t);
      s.destroy();
      resolve(d);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(e.code ?? 'error');
    });
  });
}

describe('fault network', () => {
  it('routes every link through a proxy; PEERS names the proxies; partition, heal, delay, drop and reset act on the wire', async () => {
    const ports = new Map<string, number>([
      ['1', await node(1)],
      ['2', await node(2)],
      ['3', await node(3)],
    ]);
    net = new FaultNetwork(['1', '2', '3'], (id) => ports.get(id)!);
    await net.listen();
    expect(net.peersEnv('1')).toMatch(/^2=127\.0\.0\.1:\d+,3=127\.0\.0\.1:\d+$/);
    expect(net.address('1', '2')).not.toBe(`127.0.0.1:${ports.get('2')}`);
    expect(await ask(net.address('1', '2'), 'hi')).toBe('2:hi');
    expect(await ask(net.address(CLIENT, '3'), 'c')).toBe('3:c');

    net.partition(['1'], ['2', '3']);
    expect(await ask(net.address('1', '2'), 'x')).toBe('timeout'); // accepted, never delivered
    expect(await ask(net.address('3', '1'), 'x')).toBe('timeout');
    expect(await ask(net.address('2', '3'), 'y')).toBe('3:y'); // inside a group
    expect(await ask(net.address(CLIENT, '1'), 'z')).toBe('1:z'); // the client is on every side

    net.heal();
    expect(await ask(net.address('1', '2'), 'back')).toBe('2:back');

    net.delay('1', '3', 300);
    const t0 = performance.now();
    expect(await ask(net.address('1', '3'), 'slow', 2000)).toBe('3:slow');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280);

    net.reset('2', '1');
    expect(await ask(net.address('2', '1'), 'r')).toMatch(/ECONNRESET|error/);
    net.drop('3', '2');
    expect(await ask(net.address('3', '2'), 'd')).toBe('timeout');
    net.heal();
    expect(await ask(net.address('3', '2'), 'd')).toBe('2:d');

    expect(net.events.map((e) => e.what)).toEqual(['partition {1} | {2,3}', 'heal', 'delay node 1 -> node 3 by 300 ms', 'reset node 2 -> node 1', 'drop node 3 -> node 2', 'heal']);
    expect(net.transcript()).toMatch(/^\s+\d+ ms {2}partition \{1\} \| \{2,3\}$/m);
    expect(net.peerBytes()).toBeGreaterThan(0);
  });

  it('a connection held open across a partition is cut at heal, not left to deliver stale bytes', async () => {
    const ports = new Map<string, number>([
      ['1', await node(1)],
      ['2', await node(2)],
    ]);
    net = new FaultNetwork(['1', '2'], (id) => ports.get(id)!);
    await net.listen();
    const [host, port] = net.address('1', '2').split(':');
    const s = connect({ host, port: Number(port) });
    await new Promise((r) => s.once('connect', r));
    const got: string[] = [];
    s.setEncoding('utf8');
    s.on('data', (d: string) => got.push(d));
    const closed = new Promise((r) => s.once('close', r));
    s.on('error', () => {});
    net.partition(['1'], ['2']);
    s.write('during');
    await new Promise((r) => setTimeout(r, 150));
    net.heal();
    await closed;
    expect(got).toEqual([]);
  });

  it('a node not started yet (no port) looks reset to its peers', async () => {
    const ports = new Map<string, number | undefined>([
      ['1', await node(1)],
      ['2', undefined],
    ]);
    net = new FaultNetwork(['1', '2'], (id) => ports.get(id));
    await net.listen();
    expect(await ask(net.address('1', '2'), 'x')).toMatch(/ECONNRESET|error/);
    ports.set('2', await node(2));
    expect(await ask(net.address('1', '2'), 'y')).toBe('2:y');
  });

  it('a node that is down looks reset to its peers', async () => {
    const ports = new Map<string, number>([
      ['1', await node(1)],
      ['2', 1], // nothing listens on port 1
    ]);
    net = new FaultNetwork(['1', '2'], (id) => ports.get(id)!);
    await net.listen();
    expect(await ask(net.address('1', '2'), 'x')).toMatch(/ECONNRESET|error/);
  });
  it('delayReplies and dropReplies act on the answers only: the request arrives, its answer comes late or never', async () => {
    const received: string[] = [];
    const server = createServer((s) => {
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        received.push(d);
        s.write(`2:${d}`);
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    const ports = new Map<string, number>([
      ['1', await node(1)],
      ['2', (server.address() as { port: number }).port],
    ]);
    net = new FaultNetwork(['1', '2'], (id) => ports.get(id)!);
    await net.listen();
    net.dropReplies('1', '2');
    expect(net.faulty).toBe(true);
    expect(await ask(net.address('1', '2'), 'lost')).toBe('timeout');
    expect(received).toEqual(['lost']); // acted on, answer swallowed
    net.delayReplies('1', '2', 300);
    const t0 = performance.now();
    expect(await ask(net.address('1', '2'), 'late', 2000)).toBe('2:late');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
    expect(received).toEqual(['lost', 'late']);
    // an answer followed by the node closing: the close travels behind the delayed answer, and not through a blackhole
    const closing = createServer((s) => s.once('data', (d) => s.end(`3:${d}`)));
    await new Promise<void>((r) => closing.listen(0, '127.0.0.1', () => r()));
    servers.push(closing);
    ports.set('2', (closing.address() as { port: number }).port);
    net.delayReplies('1', '2', 300);
    expect(await ask(net.address('1', '2'), 'bye', 2000)).toBe('3:bye');
    net.dropReplies('1', '2');
    expect(await ask(net.address('1', '2'), 'gone', 800)).toBe('timeout');
    net.heal();
    expect(net.faulty).toBe(false);
    expect(await ask(net.address('1', '2'), 'back')).toBe('3:back');
    expect(net.events.map((e) => e.what)).toEqual(['drop answers node 2 -> node 1', 'delay answers node 2 -> node 1 by 300 ms', 'delay answers node 2 -> node 1 by 300 ms', 'drop answers node 2 -> node 1', 'heal']);
  });
});
