import { createServer, type Socket } from 'node:net';

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * True when a connection to a local port met itself: with nothing listening on a port of the ephemeral range,
 * Linux can give the connecting socket that same port as its own, and the SYNs meet (a TCP "simultaneous
 * open"): connect succeeds and what is written comes back. Readiness polls that connect every few ms hit it now
 * and then, and took a server that was not listening yet for ready.
 */
export function selfConnected(socket: Socket): boolean {
  return socket.localPort === socket.remotePort && socket.localAddress === socket.remoteAddress;
}
