// ctx.http: an undici client bound to the learner's server. Every exchange is recorded so a failure can
// show what was sent, what came back, and a curl command that sends it again.
import type { Agent, Dispatcher } from 'undici';

// undici is loaded on first use, so that loading a lab definition stays cheap (the CLI starts faster).
let undiciModule: Promise<typeof import('undici')> | undefined;
export function loadUndici(): Promise<typeof import('undici')> {
  undiciModule ??= import('undici');
  return undiciModule;
}
import { CheckFailure } from '../errors.ts';
import { isSlowConnect, openConnections, waitAccepted, type SimultaneousTiming } from './simultaneous.ts';
import { describeResponse, type Exchange, type RecordedRequest, type RecordedResponse } from './exchange.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Raw body, sent as is. */
  body?: string | Buffer;
  /** Serialised as JSON, with `Content-Type: application/json` unless a content type is given. */
  json?: unknown;
  timeoutMs?: number;
  /** Use a connection of its own (no keep-alive reuse), e.g. for bursts that must not share sockets. */
  newConnection?: boolean;
  /** Internal: send on this dispatcher (e.g. a client over a connection opened beforehand). */
  dispatcher?: Dispatcher;
}

export class HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly bytes: Buffer;
  readonly truncated: boolean;
  readonly exchange: Exchange;

  constructor(exchange: Exchange, bytes: Buffer) {
    const res = exchange.response!;
    this.status = res.status;
    this.headers = res.headers;
    this.bytes = bytes;
    this.truncated = res.truncated;
    this.exchange = exchange;
  }

  get text(): string {
    return this.bytes.toString('utf8');
  }

  /** First value of a header (case-insensitive), or undefined. Repeated headers are joined with ", ". */
  header(name: string): string | undefined {
    const v = this.headers[name.toLowerCase()];
    if (v === undefined) return undefined;
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** Every value of a header, e.g. each Set-Cookie line. */
  headerAll(name: string): string[] {
    const v = this.headers[name.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }

  /** Fails the check unless the status is one of `expected`. */
  expectStatus(expected: number | number[], why?: string): this {
    const list = Array.isArray(expected) ? expected : [expected];
    if (!list.includes(this.status)) {
      throw new CheckFailure({
        message: why ?? `Expected status ${list.join(' or ')}, got ${this.status}.`,
        expected: `HTTP ${list.join(' or ')}`,
        received: describeResponse(this.exchange.response!, []),
        exchange: this.exchange,
      });
    }
    return this;
  }

  /**
   * Fails unless the header exists and (if given) matches. Returns the value.
   * `expected` describes the value wanted, for the report's "Expected:" line (`content-type: text/html`);
   * give it whenever `match` is a function, which cannot describe itself.
   */
  expectHeader(name: string, match?: RegExp | string | ((v: string) => boolean), why?: string, expected?: string): string {
    const value = this.header(name);
    const ok =
      value !== undefined &&
      (match === undefined ||
        (typeof match === 'string' ? value === match : match instanceof RegExp ? match.test(value) : match(value)));
    if (!ok) {
      const want =
        expected ??
        (match === undefined ? '(any value: the header must be present)' : typeof match === 'string' ? match : match instanceof RegExp ? `a value matching ${match}` : 'a value the check accepts (see above)');
      throw new CheckFailure({
        message: why ?? (value === undefined ? `The response has no \`${name}\` header.` : `The \`${name}\` header is wrong.`),
        expected: `${name}: ${want}`,
        received: describeResponse(this.exchange.response!, [name]),
        exchange: this.exchange,
      });
    }
    return value;
  }

  /** Parses the body as JSON or fails the check with what came back. */
  json<T = any>(why?: string): T {
    try {
      return JSON.parse(this.text) as T;
    } catch {
      throw new CheckFailure({
        message: why ?? 'The response body is not valid JSON.',
        expected: 'a JSON body',
        received: describeResponse(this.exchange.response!, ['content-type']),
        exchange: this.exchange,
      });
    }
  }

  /** Fails the check with this exchange attached. */
  fail(message: string, expected?: string, received?: string): never {
    throw new CheckFailure({
      message,
      expected,
      received: received ?? describeResponse(this.exchange.response!),
      exchange: this.exchange,
    });
  }
}

export interface HttpProbeOptions {
  baseUrl: string;
  timeoutMs?: number;
  maxBodyBytes?: number;
  signal?: AbortSignal;
  onExchange?: (exchange: Exchange) => void;
}

export class HttpProbe {
  readonly baseUrl: string;
  private agent?: Agent;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private signal?: AbortSignal;
  private readonly onExchange?: (exchange: Exchange) => void;
  /** The most recent exchange, also while it is still in flight (shown when a check times out). */
  lastExchange?: Exchange;

  constructor(options: HttpProbeOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    this.signal = options.signal;
    this.onExchange = options.onExchange;
  }

  /** The runner swaps the abort signal per check. */
  setSignal(signal: AbortSignal | undefined): void {
    this.signal = signal;
  }

  url(path: string): string {
    return path.startsWith('http://') || path.startsWith('https://') ? path : `${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  get(path: string, options: Omit<RequestOptions, 'method'> = {}) {
    return this.request(path, { ...options, method: 'GET' });
  }
  head(path: string, options: Omit<RequestOptions, 'method'> = {}) {
    return this.request(path, { ...options, method: 'HEAD' });
  }
  delete(path: string, options: Omit<RequestOptions, 'method'> = {}) {
    return this.request(path, { ...options, method: 'DELETE' });
  }
  options(path: string, options: Omit<RequestOptions, 'method'> = {}) {
    return this.request(path, { ...options, method: 'OPTIONS' });
  }
  post(path: string, json: unknown, options: Omit<RequestOptions, 'method' | 'json'> = {}) {
    return this.request(path, { ...options, method: 'POST', json });
  }
  put(path: string, json: unknown, options: Omit<RequestOptions, 'method' | 'json'> = {}) {
    return this.request(path, { ...options, method: 'PUT', json });
  }
  patch(path: string, json: unknown, options: Omit<RequestOptions, 'method' | 'json'> = {}) {
    return this.request(path, { ...options, method: 'PATCH', json });
  }

  /** Sends one request. Transport failures (reset, timeout, invalid HTTP) fail the check with a clear message. */
  async request(path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const method = (options.method ?? (options.json !== undefined || options.body !== undefined ? 'POST' : 'GET')).toUpperCase();
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    let body: string | Buffer | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    }
    const url = this.url(path);
    const recorded: RecordedRequest = { method, url, headers, bodyBytes: body === undefined ? 0 : Buffer.byteLength(body) };
    if (body !== undefined) {
      const asText = typeof body === 'string' ? body : body.toString('utf8');
      const printable = typeof body === 'string' || !asText.includes('\uFFFD');
      if (printable && recorded.bodyBytes <= 64 * 1024) recorded.body = asText;
      else recorded.bodyNote = `(${recorded.bodyBytes} bytes of ${printable ? 'data' : 'binary data'} not shown)`;
      if (recorded.bodyNote) recorded.body = '';
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const started = performance.now();
    const exchange: Exchange = { request: recorded, durationMs: 0 };
    this.lastExchange = exchange;
    const undici = await loadUndici();
    this.agent ??= new undici.Agent({ keepAliveTimeout: 1000, connect: { timeout: this.timeoutMs } });
    const own = options.dispatcher ? undefined : options.newConnection ? new undici.Client(new URL(url).origin, { pipelining: 1, connect: { timeout: timeoutMs } }) : undefined;
    const dispatcher: Dispatcher = options.dispatcher ?? own ?? this.agent;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    try {
      const res = await undici.request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (size + buf.length > this.maxBodyBytes) {
          chunks.push(buf.subarray(0, this.maxBodyBytes - size));
          size = this.maxBodyBytes;
          truncated = true;
          res.body.destroy();
          break;
        }
        chunks.push(buf);
        size += buf.length;
      }
      const bytes = Buffer.concat(chunks);
      const response: RecordedResponse = {
        status: res.statusCode,
        headers: normaliseHeaders(res.headers),
        body: bytes.toString('utf8'),
        bytes: size,
        truncated,
      };
      exchange.response = response;
      exchange.durationMs = Math.round(performance.now() - started);
      this.onExchange?.(exchange);
      return new HttpResponse(exchange, bytes);
    } catch (err) {
      exchange.durationMs = Math.round(performance.now() - started);
      if (this.signal?.aborted && !timeout.aborted) throw err; // the runner stopped the check; it reports why
      exchange.error = transportMessage(err, timeoutMs, url, timeout.aborted);
      this.onExchange?.(exchange);
      throw new CheckFailure({ message: exchange.error, exchange, received: exchange.error, transport: transportCode(err, timeout.aborted) });
    } finally {
      if (own) own.destroy().catch(() => {});
    }
  }

  /**
   * Sends `n` requests at the same moment, on the wire: opens n connections first, waits until every one is
   * established and (where /proc shows it) accepted by the server, then writes all requests at once. Returns
   * the responses (or failures, as CheckFailure reasons) in order, and the timing to judge them by and to
   * report (`describeTiming`). Use it for every check that means "concurrent".
   */
  async simultaneous(
    n: number,
    request: (i: number) => RequestOptions & { path: string },
    /** `baseUrl`: another server than the probe's (one replica of several, a balancer). */
    options: { baseUrl?: string } = {},
  ): Promise<{ responses: PromiseSettledResult<HttpResponse>[]; timing: SimultaneousTiming }> {
    const undici = await loadUndici();
    const target = new URL(options.baseUrl ?? this.baseUrl);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(target.port || 80);
    const t0 = performance.now();
    const sockets = await openConnections(host, port, n, Math.max(this.timeoutMs, 10_000), this.signal);
    const connectMs = Math.round(performance.now() - t0);
    const accepted = isLoopback(host) ? await waitAccepted(port, 3000, this.signal) : { waitedMs: 0, unaccepted: -1 };
    // undici expects its connector to answer asynchronously (a synchronous callback leaves the request hanging).
    const clients = sockets.map((socket) => new undici.Client(target.origin, { pipelining: 1, connect: (_opts, cb) => setImmediate(() => cb(null, socket)) }));
    const released = performance.now();
    let first = Infinity;
    let last = 0;
    const mark = () => {
      const t = performance.now() - released;
      first = Math.min(first, t);
      last = Math.max(last, t);
    };
    try {
      const responses = await Promise.allSettled(
        clients.map((client, i) => {
          const { path, ...rest } = request(i);
          const url = options.baseUrl && !/^https?:\/\//.test(path) ? `${options.baseUrl.replace(/\/$/, '')}${path}` : path;
          return this.request(url, { ...rest, dispatcher: client }).finally(mark);
        }),
      );
      const timing: SimultaneousTiming = {
        count: n,
        connectMs,
        acceptMs: accepted.waitedMs,
        unaccepted: accepted.unaccepted,
        firstMs: Math.round(first),
        spreadMs: Math.round(last),
        slowAccept: isSlowConnect(connectMs),
      };
      return { responses, timing };
    } finally {
      await Promise.all(clients.map((c) => c.destroy().catch(() => {})));
      for (const s of sockets) s.destroy();
    }
  }

  async close(): Promise<void> {
    await this.agent?.destroy().catch(() => {});
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function normaliseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

export type TransportCode = 'timeout' | 'refused' | 'reset' | 'invalid-http' | 'other';

export function transportCode(err: unknown, timedOut: boolean): TransportCode {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code.startsWith('HPE_') || e?.name === 'HTTPParserError') return 'invalid-http';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') return 'reset';
  return 'other';
}

function transportMessage(err: unknown, timeoutMs: number, url: string, timedOut: boolean): string {
  const port = new URL(url).port;
  switch (transportCode(err, timedOut)) {
    case 'timeout':
      return `No complete response within ${timeoutMs} ms: the server accepted the request but did not finish answering it.`;
    case 'refused':
      return `Connection refused: nothing is listening on port ${port} any more.`;
    case 'invalid-http':
      return `The server's reply is not valid HTTP (${(err as Error).message}).`;
    case 'reset':
      return `The server closed or reset the connection before sending a complete response.`;
    default:
      return `The request failed: ${(err as Error)?.message ?? String(err)}.`;
  }
}
