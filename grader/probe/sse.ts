// The Server-Sent Events probe: ctx.sse.open(path) streams GET <path> with undici and parses the stream with
// eventsource-parser (the field rules of the HTML standard: multi-line data, comments, ids, retry), timing
// every event. A failure carries a timed transcript and a `curl -N` that opens the same stream.
//
//   const feed = await ctx.sse.open('/events', { lastEventId: '41' });
//   const ev = await feed.expectEvent((e) => e.event === 'item', 1000, 'the event of the item just posted');
//   feed.close();
import type { Readable } from 'node:stream';
import { CheckFailure, type FailureDetails } from '../errors.ts';
import { shellQuote } from './exchange.ts';
import { loadUndici } from './http.ts';
import { Inbox } from './inbox.ts';

const TRANSCRIPT_HEAD = 20;
const TRANSCRIPT_TAIL = 60;

export interface SseEvent {
  /** `event:` field ('message' when absent, as browsers do). */
  event: string;
  data: string;
  /** `id:` field, or undefined when the event had none. */
  id?: string;
  /** Milliseconds since the probe started. */
  at: number;
}

export interface SseOpenOptions {
  headers?: Record<string, string>;
  /** Sent as `Last-Event-ID`. */
  lastEventId?: string;
  /** Budget for the response headers (default 2 s). */
  timeoutMs?: number;
  name?: string;
}

type Parser = { feed(chunk: string): void };
let parserModule: Promise<typeof import('eventsource-parser')> | undefined;

export class SseClient {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** When the response headers arrived (ms since the probe started). */
  readonly openedAt: number;
  private inbox = new Inbox<SseEvent>();
  private lines: string[] = [];
  private dropped = 0;
  /** Comment lines (`: ...`), with their times. */
  readonly comments: { text: string; at: number }[] = [];
  received = 0;
  ended?: { at: number; error?: string };

  constructor(
    private readonly probe: SseProbe,
    private readonly body: Readable,
    parser: typeof import('eventsource-parser'),
    readonly name: string,
    readonly reproduce: string,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ) {
    this.status = status;
    this.headers = headers;
    this.openedAt = probe.now();
    this.record(`HTTP ${status} ${String(headers['content-type'] ?? '(no Content-Type)')}`);
    const p: Parser = parser.createParser({
      onEvent: (e) => {
        const ev: SseEvent = { event: e.event ?? 'message', data: e.data, id: e.id, at: this.probe.now() };
        this.received++;
        this.record(`${ev.id !== undefined ? `id: ${ev.id} ` : ''}event: ${ev.event} data: ${ev.data}`);
        this.inbox.push(ev);
      },
      onComment: (text) => {
        const at = this.probe.now();
        if (this.comments.length < 1000) this.comments.push({ text, at });
        this.record(`: ${text}`);
      },
    });
    const decoder = new TextDecoder(); // streaming: a UTF-8 sequence split across chunks stays whole
    body.on('data', (chunk: Buffer) => p.feed(decoder.decode(chunk, { stream: true })));
    body.on('end', () => this.end());
    body.on('error', (err) => this.end(err.message));
  }

  private end(error?: string): void {
    if (this.ended) return;
    this.ended = { at: this.probe.now(), error };
    this.record(error ? `[stream ended: ${error}]` : '[stream ended by the server]');
  }

  private record(text: string): void {
    const line = `${String(this.probe.now()).padStart(6)} ms < ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
    if (this.lines.length < TRANSCRIPT_HEAD + TRANSCRIPT_TAIL) this.lines.push(line);
    else {
      this.lines.splice(TRANSCRIPT_HEAD, 1);
      this.lines.push(line);
      this.dropped++;
    }
  }

  transcript(): string {
    const head = this.lines.slice(0, TRANSCRIPT_HEAD);
    const tail = this.lines.slice(TRANSCRIPT_HEAD);
    return [`${this.name}:`, ...head, ...(this.dropped ? [`       ... ${this.dropped} lines not shown ...`] : []), ...tail].join('\n');
  }

  details(message: string, extra: Partial<FailureDetails> = {}): FailureDetails {
    return { message, transcript: this.transcript(), reproduce: this.reproduce, ...extra };
  }

  fail(message: string, extra: Partial<FailureDetails> = {}): never {
    throw new CheckFailure(this.details(message, extra));
  }

  /** The first event (unread, or arriving within `timeoutMs`) that `match` accepts, or undefined. */
  next(match: (e: SseEvent) => boolean, timeoutMs: number): Promise<SseEvent | undefined> {
    return this.inbox.next(match, timeoutMs);
  }

  async expectEvent(match: (e: SseEvent) => boolean, timeoutMs: number, what: string, expected?: string): Promise<SseEvent> {
    const e = await this.next(match, timeoutMs);
    if (e) return e;
    const ended = this.ended ? ` The stream ended meanwhile (at ${this.ended.at} ms${this.ended.error ? `: ${this.ended.error}` : ''}).` : '';
    return this.fail(`${this.name} waited ${timeoutMs} ms for ${what}, and it did not come.${ended}`, {
      expected: expected ?? what,
      received: this.inbox.peek().length ? `${this.inbox.peek().length} unread event(s), the latest: ${this.inbox.peek().slice(-3).map((x) => JSON.stringify({ id: x.id, event: x.event, data: x.data })).join(' ')}` : '(no unread event)',
    });
  }

  /** Every unread event, oldest first. */
  take(): SseEvent[] {
    return this.inbox.take();
  }

  /** Closes the stream from this side (the server sees the connection end). */
  close(): void {
    if (!this.ended) this.record('[closed by the grader]');
    this.body.destroy();
    this.ended ??= { at: this.probe.now(), error: 'closed by the grader' };
  }
}

export class SseProbe {
  private readonly started = performance.now();
  private readonly clients: SseClient[] = [];
  private count = 0;

  constructor(
    /** http://127.0.0.1:PORT */
    readonly baseUrl: string,
    private readonly signal?: AbortSignal,
  ) {}

  now(): number {
    return Math.round(performance.now() - this.started);
  }

  /** Opens GET `path` as an event stream; the response headers must arrive within `timeoutMs`. */
  async open(path: string, options: SseOpenOptions = {}): Promise<SseClient> {
    const [{ request }, parser] = await Promise.all([loadUndici(), (parserModule ??= import('eventsource-parser'))]);
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...(options.lastEventId !== undefined ? { 'Last-Event-ID': options.lastEventId } : {}), ...options.headers };
    const name = options.name ?? `stream ${++this.count}`;
    const reproduce = ['curl', '-N', '-i', ...Object.entries(headers).flatMap(([k, v]) => ['-H', shellQuote(`${k}: ${v}`)]), shellQuote(url)].join(' ');
    const timeoutMs = options.timeoutMs ?? 2000;
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await request(url, { method: 'GET', headers, signal: controller.signal, headersTimeout: timeoutMs, bodyTimeout: 0 });
      clearTimeout(timer);
      const client = new SseClient(this, res.body as unknown as Readable, parser, name, reproduce, res.statusCode, res.headers);
      this.clients.push(client);
      return client;
    } catch (err) {
      clearTimeout(timer);
      const timedOut = controller.signal.aborted && !this.signal?.aborted;
      throw new CheckFailure({
        message: timedOut
          ? `GET ${path} sent no response headers within ${timeoutMs} ms: an event stream must answer at once (status and headers flushed) and then send events as they happen.`
          : `GET ${path} failed: ${(err as Error).message}.`,
        expected: 'HTTP 200 with Content-Type: text/event-stream, headers sent at once',
        received: timedOut ? `nothing within ${timeoutMs} ms` : (err as Error).message,
        transport: timedOut ? 'timeout' : 'error',
        reproduce,
      });
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
    }
  }

  closeAll(): void {
    for (const c of this.clients.splice(0)) c.close();
  }
}
