// A large request body sent in chunks on a socket of its own, with the response read while still
// sending. Servers may answer early (e.g. 413) and then close or reset the connection mid-upload: that
// is reported as an answer, not as a transport failure. Used for "too large" checks.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Exchange, RecordedRequest } from './exchange.ts';

export interface StreamUploadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body: Buffer;
  /** Bytes per write (default 16 KiB). */
  chunkSize?: number;
  /** Budget for the whole exchange (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Shown instead of the body in reports. */
  bodyNote?: string;
  /** Reproduction shown instead of the generated curl command. */
  curl?: string;
  /** How long to wait after the headers before sending the body (default 150 ms). */
  headerPauseMs?: number;
}

export interface StreamUploadResult {
  /** The status line, if one arrived. */
  status?: number;
  headers?: Record<string, string | string[]>;
  /** Response body (possibly cut short by a reset). */
  body?: Buffer;
  /** Request body bytes handed to the socket before the response arrived or the connection closed. */
  bytesSent: number;
  totalBytes: number;
  /** The response arrived before the whole body was sent. */
  answeredEarly: boolean;
  /** The connection was reset or closed by the server after (or instead of) a response. */
  reset: boolean;
  /** Set when no response arrived: 'reset' | 'timeout' | 'refused' | 'other'. */
  transport?: 'reset' | 'timeout' | 'refused' | 'other';
  /** A sentence describing a transport failure. */
  error?: string;
  exchange: Exchange;
  durationMs: number;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

function normalise(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** Streams `body` and resolves with whatever the server answered (never rejects). */
export function streamUpload(options: StreamUploadOptions): Promise<StreamUploadResult> {
  const method = options.method ?? 'POST';
  const chunkSize = options.chunkSize ?? 16 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { ...(options.headers ?? {}), 'Content-Length': String(options.body.length) };
  const recorded: RecordedRequest = {
    method,
    url: options.url,
    headers,
    body: '',
    bodyBytes: options.body.length,
    bodyNote: options.bodyNote ?? `(${options.body.length} bytes not shown)`,
    curl: options.curl,
  };
  const exchange: Exchange = { request: recorded, durationMs: 0 };
  const started = performance.now();

  return new Promise((resolve) => {
    let settled = false;
    let bytesSent = 0;
    let status: number | undefined;
    let resHeaders: Record<string, string | string[]> | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let answeredEarly = false;
    let reset = false;
    let responded = false;

    const req = httpRequest(options.url, { method, headers, agent: false });

    // A server that answers early and then closes (or resets) the connection makes our next write fail
    // with EPIPE/ECONNRESET. The answer is still readable from the kernel, but Node marks the socket's
    // readable side errored (dropping whatever it reads next) and destroys the socket at once. Keep
    // reading for a moment instead, so "413, then reset" is seen as the 413 it is.
    req.on('socket', (socket) => {
      const destroy = socket.destroy;
      socket.destroy = function (this: typeof socket, error?: Error) {
        const code = (error as NodeJS.ErrnoException | undefined)?.code;
        if (error && !responded && !settled && (code === 'EPIPE' || code === 'ECONNRESET')) {
          const readable = (this as unknown as { _readableState?: { errored: unknown } })._readableState;
          if (readable) readable.errored = null;
          setTimeout(() => destroy.call(this, error), 200).unref();
          return this;
        }
        return destroy.call(this, error);
      };
    });

    const finish = (transport?: StreamUploadResult['transport'], error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const bytes = Buffer.concat(chunks);
      exchange.durationMs = Math.round(performance.now() - started);
      if (status !== undefined) {
        exchange.response = { status, headers: resHeaders ?? {}, body: bytes.toString('utf8'), bytes: bytes.length, truncated: size >= MAX_RESPONSE_BYTES };
      } else {
        exchange.error = error;
      }
      req.destroy();
      resolve({
        status,
        headers: resHeaders,
        body: status !== undefined ? bytes : undefined,
        bytesSent,
        totalBytes: options.body.length,
        answeredEarly,
        reset,
        transport: status === undefined ? transport : undefined,
        error: status === undefined ? error : undefined,
        exchange,
        durationMs: exchange.durationMs,
      });
    };

    const timer = setTimeout(
      () => finish('timeout', `No complete response within ${timeoutMs} ms (${bytesSent} of ${options.body.length} body bytes were accepted by then).`),
      timeoutMs,
    );
    const onAbort = () => finish('other', 'The check was stopped.');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('response', (res) => {
      responded = true;
      status = res.statusCode;
      resHeaders = normalise(res.headers);
      answeredEarly = bytesSent < options.body.length;
      res.on('data', (c: Buffer) => {
        if (size < MAX_RESPONSE_BYTES) {
          chunks.push(c.subarray(0, MAX_RESPONSE_BYTES - size));
          size += Math.min(c.length, MAX_RESPONSE_BYTES - size);
        }
      });
      res.on('end', () => finish());
      res.on('aborted', () => {
        reset = true;
        finish();
      });
      res.on('error', () => {
        reset = true;
        finish();
      });
      res.on('close', () => finish());
    });

    req.on('error', (err: NodeJS.ErrnoException) => {
      if (responded) {
        // The answer came first; the server then closed or reset the connection (allowed).
        reset = true;
        return; // the response's own end/error/close settles the result
      }
      const code = err.code ?? '';
      if (code === 'ECONNREFUSED') return finish('refused', `Connection refused: nothing is listening at ${options.url}.`);
      if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') {
        return finish('reset', `The server closed or reset the connection after ${bytesSent} of ${options.body.length} body bytes, without sending any HTTP response.`);
      }
      if (code.startsWith('HPE_')) return finish('other', `The server's reply is not valid HTTP (${err.message}).`);
      return finish('other', `The request failed: ${err.message}.`);
    });

    req.on('close', () => {
      // Closed before any response and before an error was reported (e.g. a clean FIN with no answer).
      if (!responded) finish('reset', `The server closed the connection after ${bytesSent} of ${options.body.length} body bytes, without sending any HTTP response.`);
    });

    // Send the headers first and give the server a moment to refuse on them (Content-Length), as curl
    // does for large bodies; then write in chunks, yielding so an answer is read as soon as it arrives.
    const pump = async () => {
      const body = options.body;
      req.flushHeaders();
      await new Promise<void>((r) => {
        const t = setTimeout(done, options.headerPauseMs ?? 150);
        function done() {
          clearTimeout(t);
          req.off('response', done);
          req.off('close', done);
          r();
        }
        req.once('response', done);
        req.once('close', done);
      });
      for (let offset = 0; offset < body.length && !settled && !responded; offset += chunkSize) {
        const chunk = body.subarray(offset, offset + chunkSize);
        const ok = req.write(chunk);
        bytesSent += chunk.length;
        if (!ok) {
          await new Promise<void>((r) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              req.off('response', done);
              r();
            };
            req.once('drain', done);
            req.once('close', done);
            req.once('response', done);
          });
        } else {
          await new Promise<void>((r) => setImmediate(r));
        }
      }
      if (!settled && !responded) req.end();
    };
    pump().catch(() => {});
  });
}
