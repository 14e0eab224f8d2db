// A readiness poll that connects to a port nobody listens on can meet itself (Linux gives the connecting socket
// that same port, the SYNs cross): the grader once took such a server for ready 20 ms after its start.
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, selfConnected } from '../../grader/runtime/ports.ts';
import { canConnect } from '../../grader/runtime/local.ts';

function connected(options: { port: number; localPort?: number }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', localAddress: '127.0.0.1', ...options });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('self-connected sockets', () => {
  it('a connection to a free port from that same port meets itself, and is told apart from a real server', async () => {
    const port = await freePort();
    const self = await connected({ port, localPort: port }); // what an unlucky ephemeral port does by chance
    expect(self.remotePort).toBe(port);
    // it really is connected: what it writes comes back, as a server's answer would
    const echo = new Promise<string>((r) => self.once('data', (d) => r(String(d))));
    self.write('HEAD / HTTP/1.1\r\n\r\n');
    expect(await echo).toBe('HEAD / HTTP/1.1\r\n\r\n');
    expect(selfConnected(self)).toBe(true);
    self.destroy();

    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const real = await connected({ port });
    expect(selfConnected(real)).toBe(false);
    expect(await canConnect(port)).toBe(true);
    real.destroy();
    await new Promise((r) => server.close(r));
    expect(await canConnect(port)).toBe(false);
  });
});
