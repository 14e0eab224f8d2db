// Reading where a process listens from /proc/net/tcp{,6} text (the kernel's format), and the one-line
// diagnosis made from it. Real tables from this machine are used by the scenario tests; here the
// formats and the decisions.
import { describe, expect, it } from 'vitest';
import { describeListenProblem, formatSocket, listenProblem, parseListenTable, reachableFromOutside, reachableOnLoopbackV4, type ListenSocket } from '../../grader/runtime/listening.ts';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:A2E3 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 444 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 555 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 666 1 0000000000000000 100 0 0 10 0
`;

describe('/proc/net/tcp{,6}', () => {
  it('keeps LISTEN entries only, by inode, with addresses in their usual spelling', () => {
    const v4 = parseListenTable(TCP, 4);
    expect([...v4.keys()]).toEqual(['111', '222']);
    expect(v4.get('111')).toEqual({ address: '127.0.0.1', port: 3000, family: 4 });
    expect(v4.get('222')).toEqual({ address: '0.0.0.0', port: 8080, family: 4 });
    const v6 = parseListenTable(TCP6, 6);
    expect(v6.get('444')).toEqual({ address: '::1', port: 41699, family: 6 });
    expect(v6.get('555')).toEqual({ address: '::', port: 8081, family: 6 });
    expect(v6.get('666')).toEqual({ address: '::ffff:127.0.0.1', port: 80, family: 6 });
    expect(formatSocket(v6.get('444')!)).toBe('[::1]:41699');
    expect(formatSocket(v6.get('666')!)).toBe('127.0.0.1:80');
  });
});

describe('listenProblem', () => {
  const s = (address: string, port: number, family: 4 | 6 = 4): ListenSocket => ({ address, port, family });
  it('reachable on PORT (0.0.0.0, ::, 127.0.0.1 locally): no problem; not listening yet: no problem', () => {
    expect(listenProblem([], 5000, reachableOnLoopbackV4)).toBeUndefined();
    expect(listenProblem([s('0.0.0.0', 5000)], 5000, reachableOnLoopbackV4)).toBeUndefined();
    expect(listenProblem([s('::', 5000, 6)], 5000, reachableOnLoopbackV4)).toBeUndefined();
    expect(listenProblem([s('127.0.0.1', 5000)], 5000, reachableOnLoopbackV4)).toBeUndefined();
  });
  it('[::1]:PORT only: wrong address, and the message says how to fix it', () => {
    const p = listenProblem([s('::1', 5000, 6)], 5000, reachableOnLoopbackV4)!;
    expect(p.kind).toBe('wrong-address');
    expect(describeListenProblem(p, 'local')).toMatch(/^Your server listens on \[::1\]:5000 only .*127\.0\.0\.1:5000\. Listen on all interfaces/);
  });
  it('in a container, 127.0.0.1:PORT is the wrong address', () => {
    const p = listenProblem([s('127.0.0.1', 5000)], 5000, reachableFromOutside)!;
    expect(p.kind).toBe('wrong-address');
    expect(describeListenProblem(p, 'docker')).toContain('listens on 127.0.0.1:5000 only, inside its container');
  });
  it('another port: named; the Node inspector on 127.0.0.1:9229 is not the server', () => {
    expect(listenProblem([s('127.0.0.1', 9229)], 5000, reachableOnLoopbackV4)).toBeUndefined();
    const p = listenProblem([s('127.0.0.1', 9229), s('0.0.0.0', 3000)], 5000, reachableOnLoopbackV4)!;
    expect(p).toEqual({ kind: 'wrong-port', port: 5000, sockets: [s('0.0.0.0', 3000)] });
    expect(describeListenProblem(p, 'local')).toMatch(/^Your server listens on port 3000 \(0\.0\.0\.0:3000\), not on port 5000 from the PORT environment variable\./);
  });
});
