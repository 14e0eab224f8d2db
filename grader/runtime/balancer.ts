// The grader's own load balancer in front of a lab's replicas: an HTTP proxy on 127.0.0.1 that sends each
// request (not each connection) to the next instance in turn, so a learner's server cannot rely on a client
// always coming back to the same process. Instances the grader stopped are skipped (a real balancer's health
// check would take them out); an instance that fails a request answers 502 from the balancer, saying which, and
// is then skipped until the next check (a passive health check, as nginx's max_fails=1: a crashed instance is
// not asked again in the moment between its crash and the grader seeing its exit).
// Counts per instance let a check see where requests went.
import { createServer, request, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface BalancerTarget {
  /** 1-based, as in INSTANCE_ID. */
  id: number;
  port: number;
  /** False while the grader has it stopped or paused: no requests are sent to it. */
  available(): boolean;
}

export interface BalancerOptions {
  /** Open a new connection to the instance for every request (default false: keep-alive per instance). */
  newConnectionPerRequest?: boolean;
}

// Hop-by-hop headers (RFC 9110 7.6.1) are the balancer's own, never forwarded.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export class GraderBalancer {
  private server?: Server;
  private next = 0;
  private readonly sockets = new Set<Socket>();
  private readonly agent: Agent;
  /** Requests sent to each instance (index = id - 1) since the last resetCounts(). */
  readonly counts: number[];
  port = 0;

  constructor(
    private readonly targets: BalancerTarget[],
    options: BalancerOptions = {},
  ) {
    this.counts = targets.map(() => 0);
    this.agent = new Agent({ keepAlive: !options.newConnectionPerRequest, maxSockets: 64 });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Instances that failed a request at the connection level since the last takeFailed() (crashing ones, often). */
  private readonly failed = new Set<number>();

  /** The ids of the instances that failed a request since the last call, and forgets them. */
  takeFailed(): number[] {
    const ids = [...this.failed];
    this.failed.clear();
    return ids;
  }

  resetCounts(): void {
    this.counts.fill(0);
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => this.forward(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private pick(): BalancerTarget | undefined {
    for (let tried = 0; tried < this.targets.length; tried++) {
      const t = this.targets[this.next % this.targets.length]!;
      this.next++;
      if (t.available() && !this.failed.has(t.id)) return t;
    }
    return undefined;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const target = this.pick();
    if (!target) {
      req.resume();
      const failed = [...this.failed].sort((a, b) => a - b);
      res.writeHead(503, { 'content-type': 'text/plain', 'x-grader-balancer': 'no instance' });
      res.end(failed.length ? `grader balancer: no instance left: the running ones failed a request in this check (instance ${failed.join(', ')})\n` : 'grader balancer: no instance is running\n');
      return;
    }
    this.counts[target.id - 1]!++;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP.has(name)) continue;
      headers[name] = value;
    }
    const out = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers, agent: this.agent }, (up) => {
      const back: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(up.headers)) if (value !== undefined && !HOP.has(name)) back[name] = value;
      back['x-grader-instance'] = String(target.id);
      res.writeHead(up.statusCode ?? 502, back);
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.failed.add(target.id);
      res.writeHead(502, { 'content-type': 'text/plain', 'x-grader-instance': String(target.id) });
      res.end(`grader balancer: instance ${target.id} (port ${target.port}) failed the request: ${err.code ?? err.message}\n`);
    });
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
