// "At the same moment", made true on the wire. A burst of requests that starts with n connects is not
// simultaneous: a server with a small listen backlog (Python's socketserver has 5) drops the SYNs that do not
// fit, the kernel retries them about a second later, and the "burst" spreads over a second. So: open every
// connection first, wait until each one is established (and, where /proc shows it, accepted by the server),
// then write every request at once, and measure what really happened (connect time, accept wait, spread
// between the release and the last response) so a check can judge with the spread taken into account and
// never blame the learner's code for what the network stack did.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export interface SimultaneousTiming {
  /** Requests released together. */
  count: number;
  /** From the first connect attempt until every connection was established. */
  connectMs: number;
  /** Extra time waited after that until the server had accepted them all (0 where /proc cannot tell). */
  acceptMs: number;
  /** Connections still waiting in the server's accept queue when the requests were released (-1: unknown). */
  unaccepted: number;
  /** From the release of the requests to the first / last complete response (or failure). */
  firstMs: number;
  spreadMs: number;
  /** Connecting took far longer than a loopback connect: the server accepts slowly (small listen backlog?). */
  slowAccept: boolean;
}

/** Above this, connecting n sockets on loopback was held up by the server, not by the network. */
const SLOW_CONNECT_MS = 250;

/** Opens `n` TCP connections to host:port and resolves once every one is established. */
export async function openConnections(host: string, port: number, n: number, timeoutMs: number, signal?: AbortSignal): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const onAbort = () => {
    for (const s of sockets) s.destroy(new Error('aborted'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = connect({ host, port, noDelay: true });
            sockets.push(socket);
            const timer = setTimeout(() => {
              socket.destroy();
              reject(Object.assign(new Error(`could not connect to ${host}:${port} within ${timeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
            }, timeoutMs);
            socket.once('connect', () => {
              clearTimeout(timer);
              resolve();
            });
            socket.once('error', (err) => {
              clearTimeout(timer);
              reject(err);
            });
          }),
      ),
    );
  } catch (err) {
    for (const s of sockets) s.destroy();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return sockets;
}

/**
 * Connections waiting in the accept queue of whatever listens on `port` (Linux: the rx_queue of the LISTEN
 * entry in /proc/net/tcp and tcp6 is the accept backlog). undefined where it cannot be seen (another OS, a
 * server in a container's own network namespace).
 */
export function acceptQueueLength(port: number): number | undefined {
  let found: number | undefined;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || f[3] !== '0A') continue; // 0A = LISTEN
      const localPort = parseInt(f[1].split(':').pop()!, 16);
      if (localPort !== port) continue;
      const rx = parseInt(f[4].split(':')[1], 16);
      found = (found ?? 0) + rx;
    }
  }
  return found;
}

/** Waits (up to `maxMs`) until the server has accepted every queued connection on `port`. */
export async function waitAccepted(port: number, maxMs: number, signal?: AbortSignal): Promise<{ waitedMs: number; unaccepted: number }> {
  const started = performance.now();
  for (;;) {
    const q = acceptQueueLength(port);
    if (q === undefined) return { waitedMs: 0, unaccepted: -1 };
    const waitedMs = Math.round(performance.now() - started);
    if (q === 0 || waitedMs >= maxMs || signal?.aborted) return { waitedMs, unaccepted: q };
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One line for notes and failure details: what the grader did to make the burst simultaneous, and how it went. */
export function describeTiming(t: SimultaneousTiming): string {
  const parts = [
    `${t.count} connections opened first (${t.connectMs} ms${t.acceptMs > 0 ? `, + ${t.acceptMs} ms until your server had accepted them` : ''}), then ${t.count} requests released together`,
    `responses between ${t.firstMs} and ${t.spreadMs} ms after the release`,
  ];
  if (t.slowAccept) {
    parts.push(
      `your server accepted connections slowly (${t.connectMs} ms to connect ${t.count} sockets on loopback): its listen backlog is probably small (Python's socketserver default is 5; set request_queue_size = 64 or more). The requests were still released only once every connection was open`,
    );
  }
  if (t.unaccepted > 0) parts.push(`${t.unaccepted} connection(s) were still waiting in your server's accept queue at the release`);
  return parts.join('; ');
}

export function isSlowConnect(connectMs: number): boolean {
  return connectMs > SLOW_CONNECT_MS;
}
