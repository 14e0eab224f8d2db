// Backends the grader hosts behind the learner's proxy or load balancer: N HTTP servers on free ports
// (127.0.0.1, or every interface under --runtime docker), each scriptable per check (answer, answer late,
// answer 5xx, reset the connection, hang, stop listening) and each recording what it received exactly as
// it arrived: raw header lines in order and case, body size and digest (never the whole of a 50 MB body),
// the connection it came on, and when its first and last body bytes arrived.
//
// A lab hosts them from an env knob's value function and finds them again in a check:
//   const backends = new BackendsByEnv('BACKEND_URLS');
//   env: { BACKEND_URLS: { value: (r, run) => backends.host(run, ['a', 'b', 'c']) } }
//   const pool = backends.of(ctx); pool.reset(); pool.get('b').behave({ kind: 'status', status: 503 });
//
// WebSocket upgrades (Connection: Upgrade, Upgrade: websocket) are accepted too, scriptable with onUpgrade:
//   pool.get('b').onUpgrade({ kind: 'accept', protocol: 'chat.v2', onSocket: (ws, req) => ws.send('hi') });
//   pool.get('b').onUpgrade({ kind: 'refuse', status: 403, body: 'no' });
// Each upgrade request is recorded in `requests` (upgrade: true); `webSockets` lists the accepted connections
// with when they closed, so a check can see a proxy close (or leak) its upstream side. `ws` is loaded on the
// first upgrade only: labs whose backends never see one do not pay for it.
import { createHash } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { freePort } from '../runtime/ports.ts';
import { ByEnvValue } from './hosted-by-env.ts';
import type { EnvContext } from '../types.ts';

/** What a backend does with the next requests (health requests excepted, see `health`). */
export type Behaviour =
  /** 200 with a JSON echo of the request (below), `X-Backend: <name>`. */
  | { kind: 'echo' }
  /** The echo, but only after `ms` (headers included). */
  | { kind: 'delay'; ms: number }
  /** This status with a short text body. */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Destroys the connection as soon as the request head arrived (the proxy sees ECONNRESET / a socket hang up). */
  | { kind: 'reset' }
  /** Never answers (until the backend is reset or closed). */
  | { kind: 'hang' }
  /** Anything else: the request as recorded (body complete) and the response. */
  | { kind: 'custom'; handle: (req: BackendRequest, res: ServerResponse) => void | Promise<void> };

/** What a backend does with the next WebSocket upgrade requests (the default: accept, and echo). */
export type UpgradeBehaviour =
  /**
   * 101 Switching Protocols. `protocol`: the subprotocol chosen when the client offers it (none otherwise).
   * `onSocket` gets the open connection; without it the backend echoes each text message as
   * `<backend name>: <text>` and each binary message as it is.
   */
  | { kind: 'accept'; protocol?: string; onSocket?: (ws: WebSocket, recorded: BackendRequest) => void }
  /** A plain HTTP answer instead of the 101 (`Connection: close`), then the connection ends. */
  | { kind: 'refuse'; status: number; body?: string; headers?: Record<string, string> };

/** An accepted WebSocket connection and when it closed (undefined while open). */
export interface BackendWebSocket {
  ws: WebSocket;
  request: BackendRequest;
  /** The subprotocol the backend chose ('' for none). */
  protocol: string;
  openedAt: number;
  closedAt?: number;
  /** The close code and reason the backend saw (1006: the TCP connection ended without a close frame). */
  closeCode?: number;
  closeReason?: string;
}

// `ws` is loaded on the first upgrade: labs whose backends never see one never pay for it.
let wsServerClass: Promise<typeof WebSocketServer> | undefined;
const loadWsServer = () => (wsServerClass ??= import('ws').then((m) => (m as unknown as { WebSocketServer: typeof WebSocketServer }).WebSocketServer));

export interface BackendRequest {
  backend: string;
  method: string;
  /** The request target as sent (path and query). */
  path: string;
  /** The header lines in the order and case they arrived: [name, value, name, value...]. */
  rawHeaders: string[];
  /** Lower-cased names; repeated headers joined as Node does. */
  headers: IncomingMessage['headers'];
  httpVersion: string;
  /** The body: its size, SHA-256 and first bytes (up to 64 KiB). */
  bodyBytes: number;
  bodySha256: string;
  bodyHead: Buffer;
  /** Which connection it came on (1, 2...: per backend), and the peer's address. */
  connection: number;
  remoteAddress: string;
  remotePort: number;
  /** ms since the pool was hosted: head received, first body byte, body complete (undefined while streaming). */
  at: number;
  firstBodyByteAt?: number;
  endedAt?: number;
  /** A WebSocket upgrade request (Connection: Upgrade and an Upgrade header): no body, answered by `onUpgrade`. */
  upgrade?: boolean;
}

const HEAD_KEEP = 64 * 1024;

export class Backend {
  readonly requests: BackendRequest[] = [];
  private behaviour: Behaviour = { kind: 'echo' };
  private upgradeBehaviour: UpgradeBehaviour = { kind: 'accept' };
  /** Every WebSocket connection accepted since the last reset, open or closed. */
  readonly webSockets: BackendWebSocket[] = [];
  /** Upgraded TCP connections (their sockets left the HTTP server), destroyed on reset/stop. */
  private readonly upgraded = new Set<Socket>();
  private healthy = true;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private inflightCount = 0;
  /** Responses of `hang` (and delayed ones), ended or destroyed on reset/close. */
  private readonly held = new Set<ServerResponse>();

  constructor(
    readonly name: string,
    readonly port: number,
    /** The URL the learner's server is given. */
    readonly url: string,
    private readonly bind: string,
    private readonly started: number,
    /** Requests to this path answer health: 200 {"status":"ok"} while healthy, 503 otherwise (never counted in `requests`). */
    readonly healthPath: string | undefined,
    /** How long an idle keep-alive connection stays open (ms). */
    private readonly keepAliveTimeoutMs = 5000,
  ) {}

  /** Requests whose response has not ended yet. */
  get inflight(): number {
    return this.inflightCount;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Connections accepted so far (health checks included). */
  get connectionCount(): number {
    return this.connections;
  }

  /** Health probes received (on `healthPath`). */
  healthProbes: number[] = [];

  behave(b: Behaviour): this {
    this.behaviour = b;
    return this;
  }

  /** What the next WebSocket upgrade requests get (until reset: accept and echo). */
  onUpgrade(b: UpgradeBehaviour): this {
    this.upgradeBehaviour = b;
    if (b.kind === 'accept') void loadWsServer(); // loaded before the first upgrade arrives
    return this;
  }

  /** WebSocket connections accepted and not closed yet. */
  get openWebSockets(): number {
    return this.webSockets.filter((w) => w.closedAt === undefined).length;
  }

  /** What `healthPath` answers: 200 while healthy, 503 when not. */
  setHealthy(healthy: boolean): this {
    this.healthy = healthy;
    return this;
  }

  /** Listens (again) on its port. */
  async start(): Promise<void> {
    if (this.listening) return;
    const server = createServer({ keepAliveTimeout: this.keepAliveTimeoutMs }, (req, res) => this.onRequest(req, res));
    server.on('connection', (s) => {
      this.connections++;
      (s as Socket & { backendConnection?: number }).backendConnection = this.connections;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (_err, s) => s.destroy());
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgradeRequest(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Stops listening and cuts every open connection: new connections are refused (ECONNREFUSED). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const r of this.held) r.destroy();
    this.held.clear();
    this.dropUpgraded();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back to answering the echo, healthy, listening, with no requests recorded. */
  async reset(): Promise<void> {
    this.behaviour = { kind: 'echo' };
    this.upgradeBehaviour = { kind: 'accept' };
    this.healthy = true;
    for (const r of this.held) r.destroy();
    this.held.clear();
    this.dropUpgraded();
    this.webSockets.length = 0;
    this.requests.length = 0;
    this.healthProbes = [];
    await this.start();
  }

  private dropUpgraded(): void {
    for (const s of this.upgraded) s.destroy();
    this.upgraded.clear();
  }

  /** A WebSocket upgrade: recorded like any request, then accepted (101) or refused as `onUpgrade` says. */
  private onUpgradeRequest(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const s = socket as Socket & { backendConnection?: number };
    const recorded: BackendRequest = {
      backend: this.name,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      rawHeaders: [...req.rawHeaders],
      headers: req.headers,
      httpVersion: req.httpVersion,
      bodyBytes: 0,
      bodySha256: createHash('sha256').digest('hex'),
      bodyHead: Buffer.alloc(0),
      connection: s.backendConnection ?? 0,
      remoteAddress: s.remoteAddress ?? '',
      remotePort: s.remotePort ?? 0,
      at: this.now(),
      endedAt: this.now(),
      upgrade: true,
    };
    this.requests.push(recorded);
    this.upgraded.add(socket);
    socket.on('close', () => this.upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    const b = this.upgradeBehaviour;
    if (b.kind === 'refuse') {
      const body = b.body ?? `backend ${this.name} refuses the upgrade with ${b.status}\n`;
      const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'X-Backend': this.name, ...b.headers, Connection: 'close' };
      const lines = [`HTTP/1.1 ${b.status} ${STATUS_CODES[b.status] ?? 'Status'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
      return;
    }
    // The socket left the HTTP server with no 'data' listener: hold its bytes until ws takes it over.
    socket.pause();
    loadWsServer()
      .then((WebSocketServerClass) => {
        if (socket.destroyed) return;
        const wanted = b.protocol;
        const wss = new WebSocketServerClass({
          noServer: true,
          clientTracking: false,
          perMessageDeflate: false,
          maxPayload: 64 * 1024 * 1024,
          handleProtocols: (offered: Set<string>) => (wanted !== undefined && offered.has(wanted) ? wanted : false),
        });
        wss.handleUpgrade(req, socket, head, (ws) => {
          const entry: BackendWebSocket = { ws, request: recorded, protocol: ws.protocol, openedAt: this.now() };
          this.webSockets.push(entry);
          ws.on('error', () => {});
          ws.on('close', (code, reason) => {
            entry.closedAt = this.now();
            entry.closeCode = code;
            entry.closeReason = reason.toString('utf8');
          });
          if (b.onSocket) b.onSocket(ws, recorded);
          else {
            ws.on('message', (data, isBinary) => {
              const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
              if (isBinary) ws.send(bytes, { binary: true });
              else ws.send(`${this.name}: ${bytes.toString('utf8')}`);
            });
          }
        });
        socket.resume();
      })
      .catch(() => socket.destroy());
  }

  private now(): number {
    return Math.round(performance.now() - this.started);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    if (this.healthPath !== undefined && path.split('?')[0] === this.healthPath) {
      this.healthProbes.push(this.now());
      req.resume();
      const body = JSON.stringify({ status: this.healthy ? 'ok' : 'down', backend: this.name });
      res.writeHead(this.healthy ? 200 : 503, { 'content-type': 'application/json', 'x-backend': this.name });
      res.end(body);
      return;
    }
    const socket = req.socket as Socket & { backendConnection?: number };
    const recorded: BackendRequest = {
      backend: this.name,
      method: req.method ?? 'GET',
      path,
      rawHeaders: [...req.rawHeaders],
      headers: req.headers,
      httpVersion: req.httpVersion,
      bodyBytes: 0,
      bodySha256: '',
      bodyHead: Buffer.alloc(0),
      connection: socket.backendConnection ?? 0,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      at: this.now(),
    };
    this.requests.push(recorded);
    this.inflightCount++;
    res.on('close', () => {
      this.inflightCount--;
      this.held.delete(res);
    });
    const behaviour = this.behaviour;
    if (behaviour.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const hash = createHash('sha256');
    const head: Buffer[] = [];
    let kept = 0;
    req.on('data', (chunk: Buffer) => {
      recorded.firstBodyByteAt ??= this.now();
      recorded.bodyBytes += chunk.length;
      hash.update(chunk);
      if (kept < HEAD_KEEP) {
        const part = chunk.subarray(0, HEAD_KEEP - kept);
        head.push(part);
        kept += part.length;
      }
    });
    req.on('end', () => {
      recorded.endedAt = this.now();
      recorded.bodySha256 = hash.digest('hex');
      recorded.bodyHead = Buffer.concat(head);
      void this.answer(behaviour, recorded, res);
    });
    req.on('error', () => res.destroy());
  }

  private async answer(b: Behaviour, recorded: BackendRequest, res: ServerResponse): Promise<void> {
    const echo = () => {
      const body = JSON.stringify({
        backend: this.name,
        method: recorded.method,
        path: recorded.path,
        rawHeaders: recorded.rawHeaders,
        bodyBytes: recorded.bodyBytes,
        bodySha256: recorded.bodySha256,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': this.name });
      res.end(body);
    };
    try {
      switch (b.kind) {
        case 'echo':
          return echo();
        case 'delay':
          this.held.add(res);
          await new Promise((r) => setTimeout(r, b.ms));
          if (res.destroyed || !this.held.has(res)) return;
          return echo();
        case 'status': {
          const body = b.body ?? `backend ${this.name} answers ${b.status}\n`;
          res.writeHead(b.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-backend': this.name, ...b.headers });
          res.end(body);
          return;
        }
        case 'hang':
          this.held.add(res);
          return;
        case 'custom':
          await b.handle(recorded, res);
          return;
        case 'reset':
          res.destroy();
          return;
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`backend handler failed: ${(err as Error).message}`);
    }
  }
}

export class BackendPool {
  constructor(readonly backends: Backend[]) {}

  get(name: string): Backend {
    const b = this.backends.find((x) => x.name === name);
    if (!b) throw new Error(`no backend named ${name} (have ${this.backends.map((x) => x.name).join(', ')})`);
    return b;
  }

  /** Every backend back to echo, healthy, listening, nothing recorded: call at the start of a check. */
  async reset(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.reset()));
  }

  /** Every request any backend received, in arrival order. */
  requests(): BackendRequest[] {
    return this.backends.flatMap((b) => b.requests).sort((a, b) => a.at - b.at);
  }

  /** Requests per backend name. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.backends.map((b) => [b.name, b.requests.length]));
  }

  async close(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.stop()));
  }
}

export interface HostBackendsOptions {
  /** A path answered as a health endpoint (see Backend.setHealthy). */
  healthPath?: string;
  /**
   * How long a backend keeps an idle keep-alive connection open (default 5000 ms). A backend closing an idle
   * connection just as the proxy reuses it makes that request fail (a 502 the proxy is right to give); a value
   * longer than a run keeps that race out of checks that are not about it.
   */
  keepAliveTimeoutMs?: number;
}

/** Hosts one backend per name for this run (closed at teardown). */
export async function hostBackends(run: EnvContext, names: string[], options: HostBackendsOptions = {}): Promise<BackendPool> {
  const { bind, urlHost } = run.hostAddress;
  const started = performance.now();
  const backends: Backend[] = [];
  for (const name of names) {
    // A free port, which the backend then keeps across stop()/start().
    const port = await freePort();
    const b = new Backend(name, port, `http://${urlHost}:${port}`, bind, started, options.healthPath, options.keepAliveTimeoutMs);
    await b.start();
    backends.push(b);
  }
  const pool = new BackendPool(backends);
  run.onTeardown(() => pool.close());
  return pool;
}

/**
 * Backends hosted by an env knob, found again from the knob's value in a check. The knob's value is what
 * `format` makes of the pool (default: the URLs joined by commas).
 */
export class BackendsByEnv extends ByEnvValue<BackendPool> {
  async host(run: EnvContext, names: string[], options: HostBackendsOptions & { format?: (pool: BackendPool) => string } = {}): Promise<string> {
    const pool = await hostBackends(run, names, options);
    const value = options.format ? options.format(pool) : pool.backends.map((b) => b.url).join(',');
    const forget = this.remember(value, pool);
    run.onTeardown(async () => forget());
    return value;
  }
}
