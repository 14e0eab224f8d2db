// The WebSocket probe (on `ws`): ctx.ws.connect(path) gives a client that records every frame both ways with
// its time, so a failure shows a transcript and a `wscat` command that reproduces the connection.
//
//   const alice = await ctx.ws.connect('/ws?token=t1', { origin: 'https://chat.example' });
//   alice.send({ type: 'join', room: 'r' });
//   const joined = await alice.expectMessage((m) => m.type === 'joined', 1000, 'the server confirms the join');
//   alice.stopAnsweringPings();          // a dead peer, as the server sees it
//   await alice.expectClose(undefined, 3000, 'the server drops a client that stopped answering pings');
//
// Handshakes that must be refused: `await ctx.ws.expectRefused(path, { status: 401 })` answers the HTTP status,
// headers and body, and fails (naming what came back) when the server upgrades instead.
import { setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import type WebSocket from 'ws';

// `ws` is loaded on first use: labs without WebSocket checks never pay for it.
let wsModule: Promise<typeof WebSocket> | undefined;
const loadWs = () => (wsModule ??= import('ws').then((m) => (m as unknown as { default: typeof WebSocket }).default));
const OPEN = 1;
const CONNECTING = 0;
import { CheckFailure, type FailureDetails } from '../errors.ts';
import { shellQuote } from './exchange.ts';
import { Inbox } from './inbox.ts';

/** Frames kept per client for its transcript (the first ones and the latest ones): memory stays bounded with hundreds of clients. */
const TRANSCRIPT_HEAD = 20;
const TRANSCRIPT_TAIL = 60;
const PREVIEW = 300;

export interface WsConnectOptions {
  headers?: Record<string, string>;
  protocols?: string[];
  /** Sent as the `Origin` header (what a browser sends). */
  origin?: string;
  /** Budget for the TCP connect and the handshake (default 5 s). */
  timeoutMs?: number;
  /** A name for this client in transcripts and messages (default `client N`). */
  name?: string;
}

export interface WsMessage {
  /** Milliseconds since the probe's first connection. */
  at: number;
  text: string;
  binary: boolean;
  /** The text parsed as JSON, or undefined when it is not JSON. */
  json: any;
  /** A binary message's bytes (undefined for text). */
  bytes?: Buffer;
}

export interface WsClose {
  code: number;
  reason: string;
  at: number;
  /** True when the connection ended without a close frame (reset, or closed underneath). */
  abrupt: boolean;
}

export interface WsRefusal {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Entry {
  t: number;
  dir: '>' | '<' | '!';
  text: string;
}

export class WsClient {
  readonly name: string;
  readonly url: string;
  /** Every message received and not yet taken by expectMessage/take, oldest first. */
  private inbox = new Inbox<WsMessage>();
  private head: Entry[] = [];
  private tail: Entry[] = [];
  private dropped = 0;
  private answerPings = true;
  private closeInfo?: WsClose;
  private closeWaiters: ((c: WsClose) => void)[] = [];
  /** How many messages arrived in all (including those taken). */
  received = 0;
  /** How many pings the server sent. */
  pings = 0;
  /** The headers of the server's 101 answer (lower-cased names), when the probe saw it. */
  upgradeHeaders: IncomingMessage['headers'] = {};

  constructor(
    private readonly ws: WebSocket,
    private readonly probe: WsProbe,
    readonly headers: Record<string, string>,
    name: string,
    url: string,
  ) {
    this.name = name;
    this.url = url;
    this.record('!', 'connected (101 Switching Protocols)');
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      const text = buf.toString('utf8');
      let json: unknown;
      try {
        json = isBinary ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      const m: WsMessage = { at: this.probe.now(), text, binary: isBinary, json, ...(isBinary ? { bytes: buf } : {}) };
      this.received++;
      this.record('<', isBinary && buf.length > PREVIEW ? `[binary, ${buf.length} bytes]` : `${isBinary ? '[binary] ' : ''}${text}`);
      this.inbox.push(m);
    });
    ws.on('ping', (data) => {
      this.pings++;
      this.record('<', `[ping]${data.length ? ` ${data.toString('utf8')}` : ''}`);
      if (this.answerPings && ws.readyState === OPEN) {
        ws.pong(data);
        this.record('>', '[pong]');
      } else this.record('!', '(ping not answered: this client plays a dead peer)');
    });
    ws.on('pong', () => this.record('<', '[pong]'));
    ws.on('error', (err) => this.record('!', `error: ${err.message}`));
    ws.on('close', (code, reason) => {
      const abrupt = code === 1006;
      this.closeInfo = { code, reason: reason.toString('utf8'), at: this.probe.now(), abrupt };
      this.record('<', abrupt ? '[connection closed without a close frame]' : `[close ${code}${reason.length ? ` "${reason.toString('utf8')}"` : ''}]`);
      for (const w of this.closeWaiters.splice(0)) w(this.closeInfo);
    });
  }

  private record(dir: Entry['dir'], text: string): void {
    const e = { t: this.probe.now(), dir, text: text.length > PREVIEW ? `${text.slice(0, PREVIEW)}... (${text.length} characters)` : text };
    if (this.head.length < TRANSCRIPT_HEAD) this.head.push(e);
    else {
      this.tail.push(e);
      if (this.tail.length > TRANSCRIPT_TAIL) {
        this.tail.shift();
        this.dropped++;
      }
    }
  }

  /** Frames both ways with their times (ms since the probe started): `>` sent, `<` received, `!` events. */
  transcript(): string {
    const fmt = (e: Entry) => `${String(e.t).padStart(6)} ms ${e.dir} ${e.text}`;
    return [...this.head.map(fmt), ...(this.dropped ? [`       ... ${this.dropped} frames not shown ...`] : []), ...this.tail.map(fmt)].join('\n');
  }

  /** `npx wscat` that opens the same connection. */
  reproduce(): string {
    const parts = ['npx', 'wscat', '-c', shellQuote(this.url)];
    for (const [k, v] of Object.entries(this.headers)) parts.push('-H', shellQuote(`${k}: ${v}`));
    return parts.join(' ');
  }

  /** Failure details with this client's transcript and reproduction. */
  details(message: string, extra: Partial<FailureDetails> = {}): FailureDetails {
    return { message, transcript: `${this.name}:\n${this.transcript()}`, reproduce: this.reproduce(), ...extra };
  }

  fail(message: string, extra: Partial<FailureDetails> = {}): never {
    throw new CheckFailure(this.details(message, extra));
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  get closed(): WsClose | undefined {
    return this.closeInfo;
  }

  /** The subprotocol the server chose ('' for none). */
  get protocol(): string {
    return this.ws.protocol;
  }

  /** Sends a binary message. */
  sendBinary(data: Buffer, what = `${data.length} bytes`): void {
    this.record('>', `[binary ${what}]`);
    if (this.ws.readyState !== OPEN) this.fail(`${this.name} could not send: the connection is already closed (${this.describeClose()}).`);
    this.ws.send(data, { binary: true });
  }

  /** Sends text (an object is sent as JSON). */
  send(data: string | object): void {
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    this.record('>', text);
    if (this.ws.readyState !== OPEN) this.fail(`${this.name} could not send: the connection is already closed (${this.describeClose()}).`);
    this.ws.send(text);
  }

  /** Writes bytes straight to the socket: hand-made frames (unmasked, invalid UTF-8, lying lengths...). */
  sendRaw(bytes: Buffer, what: string): void {
    this.record('>', `[raw: ${what}, ${bytes.length} bytes]`);
    this.socket().write(bytes);
  }

  ping(): void {
    this.record('>', '[ping]');
    this.ws.ping();
  }

  /** From now on pings are not answered: to the server this client is a dead peer. */
  stopAnsweringPings(): void {
    this.answerPings = false;
    this.record('!', '(stops answering pings)');
  }

  /** Stops reading from the socket: the server's writes back up (a slow consumer). */
  stopReading(): void {
    this.socket().pause();
    this.record('!', '(stops reading)');
  }

  resumeReading(): void {
    this.socket().resume();
    this.record('!', '(reads again)');
  }

  /** Ends the connection with a TCP reset, no close frame: a peer that vanished. */
  reset(): void {
    this.record('!', '(TCP reset, no close frame)');
    const s = this.socket();
    if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
    else s.destroy();
  }

  close(code = 1000, reason = ''): void {
    this.record('>', `[close ${code}${reason ? ` "${reason}"` : ''}]`);
    this.ws.close(code, reason);
  }

  /** Closes quietly at the end of a check. */
  dispose(): void {
    if (this.ws.readyState === OPEN || this.ws.readyState === CONNECTING) this.ws.terminate();
    this.inbox.clear();
  }

  private socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  private describeClose(): string {
    const c = this.closeInfo;
    if (!c) return 'still open';
    return c.abrupt ? `the connection ended without a close frame at ${c.at} ms` : `close ${c.code}${c.reason ? ` "${c.reason}"` : ''} at ${c.at} ms`;
  }

  /** The first message (unread, or arriving within `timeoutMs`) that `match` accepts; fails naming `what`. */
  async expectMessage(match: (m: any, raw: WsMessage) => boolean, timeoutMs: number, what: string, expected?: string): Promise<any> {
    const m = await this.nextMatching((x) => match(x.json, x), timeoutMs);
    if (m) return m.json ?? m.text;
    const closed = this.closeInfo ? ` The connection closed meanwhile (${this.describeClose()}).` : '';
    return this.fail(`${this.name} waited ${timeoutMs} ms for ${what}, and it did not come.${closed}`, { expected: expected ?? what, received: this.unreadSummary() });
  }

  /** The next message matching `match`, or undefined after `timeoutMs`. */
  nextMatching(match: (m: WsMessage) => boolean, timeoutMs: number): Promise<WsMessage | undefined> {
    return this.inbox.next(match, timeoutMs);
  }

  /** Takes every unread message (optionally only those `match` accepts), oldest first. */
  take(match: (m: any) => boolean = () => true): any[] {
    return this.inbox.take((m) => match(m.json)).map((m) => m.json ?? m.text);
  }

  /** Waits `ms` and fails if a message `match` accepts arrives (or is already unread). */
  async expectNoMessage(ms: number, what: string, match: (m: any) => boolean = () => true): Promise<void> {
    const m = await this.nextMatching((x) => match(x.json), ms);
    if (m) this.fail(`${this.name} received ${what}: ${preview(m.text)} (at ${m.at} ms).`, { expected: `no such message within ${ms} ms`, received: m.text });
  }

  /** Resolves with how the connection closed, or undefined if it is still open after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<WsClose | undefined> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve) => {
      const done = (c: WsClose | undefined) => {
        clearTimeout(timer);
        resolve(c);
      };
      const timer = setTimeout(() => {
        this.closeWaiters.splice(this.closeWaiters.indexOf(done), 1);
        resolve(undefined);
      }, timeoutMs);
      this.closeWaiters.push(done);
    });
  }

  /** Fails unless the server closes the connection within `timeoutMs` (with one of `codes`, when given). */
  async expectClose(codes: number | number[] | undefined, timeoutMs: number, what: string): Promise<WsClose> {
    const want = codes === undefined ? undefined : Array.isArray(codes) ? codes : [codes];
    const c = await this.waitClosed(timeoutMs);
    if (!c) this.fail(`${this.name}: ${what}, but after ${timeoutMs} ms the connection is still open.`, { expected: want ? `a close frame with code ${want.join(' or ')}` : 'the connection closed' });
    if (want && (c.abrupt || !want.includes(c.code))) {
      this.fail(`${this.name}: ${what}: the close code must be ${want.join(' or ')}, but ${this.describeClose()}.`, { expected: `close ${want.join(' or ')}`, received: c.abrupt ? 'no close frame (the TCP connection just ended)' : `close ${c.code} ${c.reason}` });
    }
    return c;
  }

  private unreadSummary(): string {
    const unread = this.inbox.peek();
    if (unread.length === 0) return '(no unread message)';
    const shown = unread.slice(-5).map((m) => `${String(m.at).padStart(6)} ms ${preview(m.text)}`);
    return `${unread.length} unread message(s), the latest:\n${shown.join('\n')}`;
  }
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

export class WsProbe {
  private readonly started = performance.now();
  private readonly clients: WsClient[] = [];
  /** Raw TCP connections of silent() and rawHandshake(), destroyed with the clients. */
  private readonly sockets = new Set<Socket>();
  private count = 0;

  constructor(
    /** ws://127.0.0.1:PORT */
    readonly baseUrl: string,
    private readonly signal?: AbortSignal,
  ) {
    // Every connection in progress listens for the run's abort: a check may open hundreds at once.
    if (signal) setMaxListeners(0, signal);
  }

  now(): number {
    return Math.round(performance.now() - this.started);
  }

  private headersFor(options: WsConnectOptions): Record<string, string> {
    return { ...(options.origin !== undefined ? { Origin: options.origin } : {}), ...options.headers };
  }

  private async open(path: string, options: WsConnectOptions): Promise<{ ws: WebSocket; url: string; headers: Record<string, string> }> {
    const url = `${this.baseUrl}${path}`;
    const headers = this.headersFor(options);
    const WebSocketClass = await loadWs();
    // autoPong off: the client answers pings itself, so a check can make it stop (a dead peer).
    const ws = new WebSocketClass(url, options.protocols ?? [], { headers, handshakeTimeout: options.timeoutMs ?? 5000, autoPong: false, perMessageDeflate: false, followRedirects: false });
    return { ws, url, headers };
  }

  /** Opens a connection; fails with the server's HTTP answer if it does not upgrade. */
  async connect(path: string, options: WsConnectOptions = {}): Promise<WsClient> {
    const { ws, url, headers } = await this.open(path, options);
    const name = options.name ?? `client ${++this.count}`;
    const reproduce = ['npx', 'wscat', '-c', shellQuote(url), ...Object.entries(headers).flatMap(([k, v]) => ['-H', shellQuote(`${k}: ${v}`)])].join(' ');
    return new Promise<WsClient>((resolve, reject) => {
      const onAbort = () => {
        ws.terminate();
        reject(new Error('aborted'));
      };
      this.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => this.signal?.removeEventListener('abort', onAbort);
      let upgradeHeaders: IncomingMessage['headers'] = {};
      ws.once('upgrade', (res: IncomingMessage) => {
        upgradeHeaders = res.headers; // the 101 arrived; 'open' follows
      });
      ws.once('open', () => {
        done();
        const client = new WsClient(ws, this, headers, name, url);
        client.upgradeHeaders = upgradeHeaders;
        this.clients.push(client);
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        readBody(res).then((body) => {
          done();
          ws.terminate();
          reject(
            new CheckFailure({
              message: `The WebSocket handshake on ${path} was refused: the server answered HTTP ${res.statusCode} instead of 101 Switching Protocols.`,
              expected: 'HTTP 101 Switching Protocols (Upgrade: websocket)',
              received: describeRefusal({ status: res.statusCode ?? 0, headers: res.headers, body }),
              reproduce,
            }),
          );
        });
      });
      ws.once('error', (err) => {
        done();
        reject(
          new CheckFailure({
            message: `Could not open a WebSocket on ${path}: ${err.message}.`,
            expected: 'HTTP 101 Switching Protocols (Upgrade: websocket)',
            received: err.message,
            transport: 'websocket',
            reproduce,
          }),
        );
      });
    });
  }

  /** Opens `n` connections, a few at a time (the server's accept queue is not the subject here). */
  async connectMany(n: number, make: (i: number) => { path: string } & WsConnectOptions, batch = 25): Promise<WsClient[]> {
    const out: WsClient[] = [];
    for (let i = 0; i < n; i += batch) {
      const group = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => {
        const { path, ...options } = make(i + j);
        return this.connect(path, options);
      }));
      out.push(...group);
    }
    return out;
  }

  /**
   * A handshake that must be refused with an HTTP answer: returns it. Fails when the server upgrades (a 101,
   * even one closed right after, is an accepted connection), or when the status is not one of `status`.
   */
  async expectRefused(path: string, options: WsConnectOptions & { status: number | number[]; why: string }): Promise<WsRefusal> {
    const want = Array.isArray(options.status) ? options.status : [options.status];
    const { ws, url, headers } = await this.open(path, options);
    const reproduce = ['curl', '-i', '-N', '-H', "'Connection: Upgrade'", '-H', "'Upgrade: websocket'", '-H', "'Sec-WebSocket-Version: 13'", '-H', "'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='", ...Object.entries(headers).flatMap(([k, v]) => ['-H', shellQuote(`${k}: ${v}`)]), shellQuote(url.replace(/^ws/, 'http'))].join(' ');
    const outcome = await new Promise<{ kind: 'refused'; r: WsRefusal } | { kind: 'upgraded' } | { kind: 'error'; message: string }>((resolve) => {
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        readBody(res).then((body) => resolve({ kind: 'refused', r: { status: res.statusCode ?? 0, headers: res.headers, body } }));
      });
      ws.once('open', () => resolve({ kind: 'upgraded' }));
      ws.once('error', (err) => resolve({ kind: 'error', message: err.message }));
    });
    ws.terminate();
    if (outcome.kind === 'upgraded') {
      throw new CheckFailure({
        message: `${options.why}: the handshake on ${path} must be refused with HTTP ${want.join(' or ')} before the upgrade, but the server answered 101 Switching Protocols (a connection accepted and closed afterwards is still an accepted connection).`,
        expected: `HTTP ${want.join(' or ')}, no upgrade`,
        received: 'HTTP 101 Switching Protocols',
        reproduce,
      });
    }
    if (outcome.kind === 'error') {
      throw new CheckFailure({ message: `${options.why}: the handshake on ${path} must be refused with HTTP ${want.join(' or ')}, but the connection failed: ${outcome.message}.`, expected: `HTTP ${want.join(' or ')}`, received: outcome.message, transport: 'websocket', reproduce });
    }
    if (!want.includes(outcome.r.status)) {
      throw new CheckFailure({ message: `${options.why}: the handshake on ${path} must be refused with HTTP ${want.join(' or ')}, but the answer was ${outcome.r.status}.`, expected: `HTTP ${want.join(' or ')}`, received: describeRefusal(outcome.r), reproduce });
    }
    return outcome.r;
  }

  private tcp(): Promise<Socket> {
    const { hostname, port } = new URL(this.baseUrl);
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: hostname, port: Number(port) });
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        socket.on('error', () => {});
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  /**
   * A client that connects and never sends a byte (`partial`: only these bytes, e.g. half a request line,
   * then nothing). Open until the check ends. Resolves once the TCP connection is established.
   */
  async silent(partial?: string): Promise<{ readonly closed: boolean }> {
    const socket = await this.tcp();
    socket.on('data', () => {}); // whatever the server says, it is not read for anything
    if (partial) socket.write(partial);
    return {
      get closed() {
        return socket.destroyed;
      },
    };
  }

  /**
   * Sends `request` as it is (a handshake as broken as the check wants) on a new connection and reports the
   * first line of the answer, or that the server closed the connection without one, within `timeoutMs`.
   * `reproduce` is a printf | nc line for a failure message.
   */
  async rawHandshake(request: string | Buffer, timeoutMs = 2000): Promise<RawAnswer> {
    const t0 = performance.now();
    const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
    const { hostname, port } = new URL(this.baseUrl);
    const reproduce = `printf '${[...bytes].map((b) => (b === 0x5c ? '\\\\' : b === 0x25 ? '%%' : b === 0x27 ? "\\047" : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('')}' | nc ${hostname} ${port}`;
    let socket: Socket;
    try {
      socket = await this.tcp();
    } catch (err) {
      return { kind: 'refused', message: (err as Error).message, ms: Math.round(performance.now() - t0), reproduce };
    }
    return new Promise<RawAnswer>((resolve) => {
      let got = Buffer.alloc(0);
      const done = (a: RawAnswer) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(a);
      };
      const timer = setTimeout(() => done({ kind: 'silent', ms: Math.round(performance.now() - t0), reproduce }), timeoutMs);
      socket.on('data', (c: Buffer) => {
        got = Buffer.concat([got, c]).subarray(0, 4096);
        const end = got.indexOf('\r\n');
        if (end === -1) return;
        const statusLine = got.subarray(0, end).toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
        done({ kind: 'answer', status: m ? Number(m[1]) : undefined, statusLine, ms: Math.round(performance.now() - t0), reproduce });
      });
      socket.once('close', () => done({ kind: 'closed', ms: Math.round(performance.now() - t0), reproduce }));
      socket.write(bytes);
    });
  }

  /** Every client still open (for teardown). */
  closeAll(): void {
    for (const c of this.clients.splice(0)) c.dispose();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

/** What rawHandshake saw: the first line of an answer, a close without one, nothing at all, or no connection. */
export type RawAnswer =
  | { kind: 'answer'; status?: number; statusLine: string; ms: number; reproduce: string }
  | { kind: 'closed'; ms: number; reproduce: string }
  | { kind: 'silent'; ms: number; reproduce: string }
  | { kind: 'refused'; message: string; ms: number; reproduce: string };

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < 4096) chunks.push(c);
      size += c.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, 2000)));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    setTimeout(() => resolve(Buffer.concat(chunks).toString('utf8')), 2000).unref();
  });
}

function describeRefusal(r: WsRefusal): string {
  const lines = [`HTTP ${r.status}`];
  for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) lines.push(`${k}: ${Array.isArray(v) ? v.join(', ') : v}`);
  if (r.body) lines.push('', r.body);
  return lines.join('\n');
}

/** A single unmasked or otherwise hand-made frame (FIN set). `opcode` 0x1 text, 0x2 binary, 0x8 close, 0x9 ping. */
export function rawFrame(opcode: number, payload: Buffer, masked = true): Buffer {
  const len = payload.length;
  const head: number[] = [0x80 | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}
