// A request whose body is sent with `Transfer-Encoding: chunked` (no Content-Length), on a connection of
// its own. Servers that enforce a size limit by reading the Content-Length header alone are fooled by it,
// so size-limit checks send their oversized body both ways. Recorded like ctx.http's exchanges (the curl
// reproduction adds `-H 'Transfer-Encoding: chunked'`, which makes curl stream the body the same way).
import { request as httpRequest } from 'node:http';
import { CheckFailure } from '../errors.ts';
import type { Exchange, RecordedRequest } from './exchange.ts';
import { HttpResponse, MAX_BODY_BYTES, type HttpProbe } from './http.ts';

export interface ChunkedRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent one after the other as separate chunks. */
  chunks: (string | Buffer)[];
  timeoutMs?: number;
  /** Pass ctx.signal so the request stops with the check. */
  signal?: AbortSignal;
}

export async function sendChunked(http: HttpProbe, path: string, options: ChunkedRequestOptions): Promise<HttpResponse> {
  const method = (options.method ?? 'POST').toUpperCase();
  const url = http.url(path);
  const headers: Record<string, string> = { ...(options.headers ?? {}), 'Transfer-Encoding': 'chunked' };
  const body = Buffer.concat(options.chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  const text = body.toString('utf8');
  const recorded: RecordedRequest = { method, url, headers, bodyBytes: body.length };
  if (!text.includes('\uFFFD') && body.length <= 64 * 1024) recorded.body = text;
  else {
    recorded.body = '';
    recorded.bodyNote = `(${body.length} bytes of data not shown)`;
  }
  const exchange: Exchange = { request: recorded, durationMs: 0 };
  http.lastExchange = exchange;
  const timeoutMs = options.timeoutMs ?? 5000;
  const started = performance.now();

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let gotResponse = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      exchange.durationMs = Math.round(performance.now() - started);
      fn();
    };
    const failTransport = (message: string, transport: string) =>
      finish(() => {
        exchange.error = message;
        reject(new CheckFailure({ message, exchange, received: message, transport }));
      });
    const req = httpRequest(url, { method, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      failTransport(`No complete response within ${timeoutMs} ms: the server accepted the request but did not finish answering it.`, 'timeout');
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish(() => reject(new Error('aborted')));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('response', (res) => {
      gotResponse = true;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (c: Buffer) => {
        if (truncated) return;
        if (size + c.length > MAX_BODY_BYTES) {
          chunks.push(c.subarray(0, MAX_BODY_BYTES - size));
          size = MAX_BODY_BYTES;
          truncated = true;
          return;
        }
        chunks.push(c);
        size += c.length;
      });
      const done = () =>
        finish(() => {
          const bytes = Buffer.concat(chunks);
          const responseHeaders: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) responseHeaders[k.toLowerCase()] = v;
          exchange.response = { status: res.statusCode ?? 0, headers: responseHeaders, body: bytes.toString('utf8'), bytes: size, truncated };
          resolve(new HttpResponse(exchange, bytes));
          req.destroy();
        });
      res.on('end', done);
      // The server may close the connection right after a complete early answer (e.g. 413): keep the answer.
      res.on('error', done);
      res.on('close', done);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (gotResponse) return; // writing the rest of the body failed after the server answered: fine
      const code = err.code ?? '';
      if (code === 'ECONNREFUSED') failTransport(`Connection refused: nothing is listening on ${new URL(url).host} any more.`, 'refused');
      else if (code.startsWith('HPE_')) failTransport(`The server's reply is not valid HTTP (${err.message}).`, 'invalid-http');
      else failTransport('The server closed or reset the connection before sending a complete response.', 'reset');
    });
    (async () => {
      for (const chunk of options.chunks) {
        if (req.destroyed) return;
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      if (!req.destroyed) req.end();
    })().catch(() => {});
  });
}
