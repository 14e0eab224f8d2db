// A raw HTTP/1.1 client for checks that need what undici will not send or normalises away: exact request
// targets (`..`, `%2e`), any header line in order and case (Connection tokens, Keep-Alive, Upgrade,
// Proxy-Authorization...), bodies written as the check wishes, and responses read as they arrive. Each
// request is recorded as an Exchange, so failures show the usual request/response and a `curl --path-as-is`.
import { createHash } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { CheckFailure } from '../errors.ts';
import type { Exchange } from './exchange.ts';


export interface RawRequestOptions {
  method?: string;
  path: string;
  /** Header lines in order; `Host` is added (127.0.0.1:PORT) unless given. */
  headers?: [string, string][];
  /** A body sent with Content-Length. */
  body?: Buffer;
  /** A body sent with Transfer-Encoding: chunked, one chunk per buffer. */
  chunks?: Buffer[];
  /** Writes the body itself (the request is ended when it resolves). */
  write?: (req: ClientRequest) => Promise<void>;
  /** Shown instead of the body in the report. */
  bodyNote?: string;
  timeoutMs?: number;
  /** Called with every chunk of the response body as it arrives. */
  onData?: (chunk: Buffer) => void;
}

export interface RawResponse {
  status: number;
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  /** The body (the first 1 MiB of it). */
  body: Buffer;
  bytes: number;
  sha256: string;
  ms: number;
  exchange: Exchange;
}

const KEEP_BODY = 1024 * 1024;

function shq(s: string): string {
  return /^[A-Za-z0-9_\/:=.,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function curlOf(url: string, method: string, headers: [string, string][], body: boolean): string {
  const parts = ['curl', '-i', '--path-as-is'];
  if (/[[\]{}]/.test(url)) parts.push('-g'); // no globbing: the brackets are the request's own
  if (method !== 'GET') parts.push('-X', method);
  parts.push(shq(url));
  for (const [n, v] of headers) parts.push('-H', shq(`${n}: ${v}`));
  if (body) parts.push('--data-binary', '@body.bin');
  return parts.join(' ');
}

/**
 * Sends one request on a connection of its own to 127.0.0.1:`target.port`. A transport failure fails the check
 * (`transport` says which); messages name the learner's program as `target.who` (default "your server").
 */
export function rawHttp(target: { port: number; signal: AbortSignal; who?: string }, o: RawRequestOptions): Promise<RawResponse> {
  const method = o.method ?? 'GET';
  const port = target.port;
  const who = target.who ?? 'your server';
  const url = `http://127.0.0.1:${port}${o.path}`;
  const headers: [string, string][] = [...(o.headers ?? [])];
  if (!headers.some(([n]) => n.toLowerCase() === 'host')) headers.unshift(['Host', `127.0.0.1:${port}`]);
  if (o.body) headers.push(['Content-Length', String(o.body.length)]);
  if (o.chunks) headers.push(['Transfer-Encoding', 'chunked']);
  const bodyBytes = o.body?.length ?? o.chunks?.reduce((n, c) => n + c.length, 0) ?? 0;
  const hasBody = o.body !== undefined || o.chunks !== undefined || o.write !== undefined;
  const exchange: Exchange = {
    request: {
      method,
      url,
      headers: Object.fromEntries(headers),
      bodyBytes,
      ...(hasBody ? { body: '', bodyNote: o.bodyNote ?? `(${bodyBytes} bytes not shown)` } : {}),
      curl: curlOf(url, method, headers, hasBody),
    },
    durationMs: 0,
  };
  const timeoutMs = o.timeoutMs ?? 5000;
  const started = performance.now();
  return new Promise<RawResponse>((resolve, reject) => {
    let done = false;
    const finish = (err?: { message: string; transport: string }, answer?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      target.signal.removeEventListener('abort', onAbort);
      exchange.durationMs = Math.round(performance.now() - started);
      if (err) {
        exchange.error = err.message;
        req.destroy();
        reject(new CheckFailure({ message: err.message, received: err.message, exchange, transport: err.transport }));
      } else resolve(answer!);
    };
    const req = httpRequest({ host: '127.0.0.1', port, method, path: o.path, headers: headers.flat(), agent: false });
    const timer = setTimeout(
      () => finish({ transport: 'timeout', message: `${method} ${o.path}: no complete answer within ${timeoutMs} ms.` }),
      timeoutMs,
    );
    const onAbort = () => finish({ transport: 'other', message: 'The check was stopped.' });
    target.signal.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (bytes < KEEP_BODY) kept.push(chunk.subarray(0, KEEP_BODY - bytes));
        bytes += chunk.length;
        hash.update(chunk);
        o.onData?.(chunk);
      });
      res.on('end', () => {
        const body = Buffer.concat(kept);
        const headersOut: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headersOut[k] = v;
        exchange.response = { status: res.statusCode ?? 0, headers: headersOut, body: body.subarray(0, 64 * 1024).toString('utf8'), bytes, truncated: bytes > 64 * 1024 };
        finish(undefined, {
          status: res.statusCode ?? 0,
          rawHeaders: res.rawHeaders,
          headers: res.headers,
          body,
          bytes,
          sha256: hash.digest('hex'),
          ms: Math.round(performance.now() - started),
          exchange,
        });
      });
      res.on('error', () => finish({ transport: 'reset', message: `${method} ${o.path}: ${who} sent HTTP ${res.statusCode} and then cut the connection before the body was complete (${bytes} bytes received).` }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (code === 'ECONNREFUSED') return finish({ transport: 'refused', message: `${method} ${o.path}: connection refused, nothing listens on port ${port} any more (did ${who} crash?).` });
      if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(err.message))
        return finish({ transport: 'reset', message: `${method} ${o.path}: ${who} closed or reset the connection without sending an HTTP response.` });
      if (code.startsWith('HPE_')) return finish({ transport: 'invalid-http', message: `${method} ${o.path}: the reply of ${who} is not valid HTTP (${err.message}).` });
      finish({ transport: 'other', message: `${method} ${o.path}: the request failed (${err.message}).` });
    });
    const writeBody = async () => {
      if (o.write) await o.write(req);
      else if (o.chunks) {
        for (const c of o.chunks) {
          req.write(c);
          await new Promise((r) => setTimeout(r, 5));
        }
      } else if (o.body) req.write(o.body);
      req.end();
    };
    writeBody().catch((err) => finish({ transport: 'other', message: `${method} ${o.path}: sending the body failed (${(err as Error).message}).` }));
  });
}

