// Nodes must reach each other only through PEERS (the grader's proxies). A node that learns a peer's own port
// and connects to it directly escapes every partition: the grader sees the connection in the kernel's tables
// and fails the check with one clear sentence, while honest nodes pass. Nothing is left running either way.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectPortsRefuse } from '../helpers/ports.ts';
import { defineLab } from '../../grader/define.ts';
import { runLab } from '../../grader/run.ts';
import { parseConnectionTable } from '../../grader/runtime/listening.ts';
import { groupAlive } from '../../grader/runtime/process-group.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// Each node tells its peers its own PORT through PEERS; with DIRECT=1 a node that hears a peer's port then
// pings that peer there, on a kept-alive connection, bypassing the proxies.
const NODE = `
const http = require('http');
const port = Number(process.env.PORT);
const peers = process.env.PEERS.split(',').map((p) => p.split('=')[1]);
const agent = new http.Agent({ keepAlive: true });
const direct = new Set();
http.createServer((q, s) => {
  const m = /^\\/hello\\?port=(\\d+)$/.exec(q.url);
  if (m && process.env.DIRECT === '1' && !direct.has(m[1])) {
    direct.add(m[1]);
    setInterval(() => http.get({ host: '127.0.0.1', port: Number(m[1]), path: '/ping', agent }, (r) => r.resume()).on('error', () => {}), 100);
  }
  s.end('ok');
}).listen(port, '0.0.0.0', () => {
  console.log('node', process.env.INSTANCE_ID, 'on', port);
  setInterval(() => { for (const p of peers) http.get('http://' + p + '/hello?port=' + port, (r) => r.resume()).on('error', () => {}); }, 100);
});
`;

function lab(dir: string, pids: number[]) {
  return defineLab(
    {
      id: 'direct-peers',
      title: 'Direct peers',
      track: 'scaling',
      summary: 'Three nodes that should talk through PEERS.',
      difficulty: 'beginner',
      estimatedMinutes: 1,
      questions: [1],
      replicas: 3,
      network: true,
      readyTimeoutMs: 5000,
      checks: [
        {
          id: 'talk',
          title: 'the nodes talk for a second',
          hint: '-',
          async run(ctx) {
            pids.push(...ctx.instances.map((i) => i.pid!));
            await ctx.sleep(1000);
          },
        },
      ],
    },
    dir,
  );
}

async function grade(direct: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'labs-direct-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'node.cjs'), NODE);
  const pids: number[] = [];
  const run = runLab({ lab: lab(dir, pids), dir, startCommand: 'node node.cjs', all: true, env: { DIRECT: direct ? '1' : '0' } });
  const t0 = performance.now();
  const result = await run.result;
  expect(pids, JSON.stringify(result)).toHaveLength(3);
  for (const pid of pids) expect(groupAlive(pid), `process group ${pid} left running`).toBe(false);
  return { result, ms: performance.now() - t0 };
}

describe('direct connections between nodes', () => {
  it('a node that connects to a peer\'s own PORT instead of its PEERS address fails the check, naming both and the address', { timeout: 30_000 }, async () => {
    const { result, ms } = await grade(true);
    expect(result.status, JSON.stringify(result.checks)).toBe('fail');
    const msg = result.checks[0]!.failure!.message;
    expect(msg).toMatch(/^node [123] connected to node [123] directly at 127\.0\.0\.1:\d+ \(node [123]'s own PORT\), not through the address PEERS gave it \([^)]*=127\.0\.0\.1:\d+[^)]*\)/);
    expect(msg).toMatch(/reach your peers only through PEERS/);
    expect(ms).toBeLessThan(10_000);
  });

  it('nodes that talk only through PEERS pass', { timeout: 30_000 }, async () => {
    const { result } = await grade(false);
    expect(result.status, JSON.stringify(result.checks)).toBe('pass');
  });

  it('reads established connections from /proc/net/tcp, skipping listeners and sockets without a process', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:A1B2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1',
      '   2: 0100007F:C351 0100007F:1F90 06 00000000:00000000 03:00000D9B 00000000     0        0 0 3 0000000000000000',
    ].join('\n');
    expect(parseConnectionTable(table, 4)).toEqual([{ inode: '222', local: { address: '127.0.0.1', port: 0xc350, family: 4 }, remote: { address: '127.0.0.1', port: 8080, family: 4 } }]);
  });
});

// A partition while the nodes start: a node that waits for its peers before it listens gets a clear verdict
// naming the faults (within the ready budget, nothing left running); nodes that start alone pass, and the
// first check finds the network healed.
describe('a partition during start-up', () => {
  const STARTUP = `
const http = require('http');
const peers = process.env.PEERS.split(',').map((p) => p.split('=')[1]);
const id = process.env.INSTANCE_ID;
const listen = () => http.createServer((q, s) => {
  if (q.url === '/peer') return s.end('peer ' + id);
  // GET /ask: this node asks its first peer through PEERS
  http.get('http://' + peers[0] + '/peer', (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => s.end(b)); }).on('error', (e) => { s.statusCode = 502; s.end(e.message); });
}).listen(Number(process.env.PORT), '0.0.0.0', () => console.log('node', id, 'listening'));
if (process.env.WAIT_FOR_PEERS === '1') {
  // waits until a peer answers before it listens
  const tryPeer = () => http.get('http://' + peers[0] + '/peer', (r) => { r.resume(); listen(); }).on('error', () => setTimeout(tryPeer, 100));
  console.log('node', id, 'waiting for', peers[0]);
  tryPeer();
} else listen();
`;

  async function gradeStartup(waitForPeers: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'labs-startup-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'node.cjs'), STARTUP);
    const pids: number[] = [];
    const answers: string[] = [];
    const l = defineLab(
      {
        id: 'startup-partition',
        title: 'Startup partition',
        track: 'scaling',
        summary: 'Three nodes started while node 1 is cut off.',
        difficulty: 'beginner',
        estimatedMinutes: 1,
        questions: [1],
        replicas: 3,
        network: true,
        networkAtStart: (net) => net.partition([1], [2, 3]),
        readyTimeoutMs: 3000,
        checks: [
          {
            id: 'healed',
            title: 'node 1 reaches its peer once the check begins',
            hint: '-',
            async run(ctx) {
              pids.push(...ctx.instances.map((i) => i.pid!));
              const r = await ctx.http.get(`${ctx.instances[0]!.url}/ask`);
              answers.push(`${r.status} ${r.text}`);
            },
          },
        ],
      },
      dir,
    );
    const t0 = performance.now();
    const run = runLab({ lab: l, dir, startCommand: 'node node.cjs', all: true, env: { WAIT_FOR_PEERS: waitForPeers ? '1' : '0' } });
    const ports: number[] = [];
    run.on((e) => {
      if (e.type === 'server-start') ports.push(e.port);
    });
    const result = await run.result;
    return { result, ms: performance.now() - t0, pids, answers, ports };
  }

  it('a node that waits for its peers before it listens: a clear verdict naming the partition, within the budget; nothing left', { timeout: 30_000 }, async () => {
    const { result, ms, ports } = await gradeStartup(true);
    expect(result.exitCode, result.message).toBe(2);
    expect(result.message, result.message).toMatch(/did not listen .* within 3 s\. While your processes started, the grader's network had: partition \{1\} \| \{2,3\}\. A node must start and listen without its peers/);
    expect(ms).toBeLessThan(8000);
    // nothing of the run listens any more: its server port refuses
    await expectPortsRefuse(ports.map(Number));
  });

  it('nodes that start without their peers pass, and the first check finds the network healed', { timeout: 30_000 }, async () => {
    const { result, pids, answers } = await gradeStartup(false);
    expect(result.status, JSON.stringify(result.checks)).toBe('pass');
    expect(answers).toEqual(['200 peer 2']);
    for (const pid of pids) expect(groupAlive(pid)).toBe(false);
  });
});
