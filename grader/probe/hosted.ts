// Grader-side HTTP servers for a lab (a slow upstream, a webhook receiver, backends behind a proxy).
// Bound to 127.0.0.1 on a free port, recorded, and always closed at teardown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HostedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** ms since the hosted server started. */
  at: number;
}

export type HostedHandler = (req: HostedRequest, res: ServerResponse) => void | Promise<void>;

export interface Hosted {
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: HostedRequest[];
  close(): Promise<void>;
}

export async function hostHttp(handler: HostedHandler, host = '127.0.0.1'): Promise<Hosted> {
  const requests: HostedRequest[] = [];
  const sockets = new Set<Socket>();
  const started = performance.now();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: HostedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: performance.now() - started,
      };
      requests.push(recorded);
      Promise.resolve()
        .then(() => handler(recorded, res))
        .catch((err) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`hosted handler failed: ${(err as Error).message}`);
        });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
