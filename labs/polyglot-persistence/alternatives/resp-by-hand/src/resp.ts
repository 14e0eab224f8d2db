// A Redis client in 80 lines: RESP2 over one TCP connection. Commands are arrays of bulk strings; replies come
// back in order, so a queue of waiting callers is all the bookkeeping pipelining needs.
import { connect, type Socket } from 'node:net';

export type Reply = string | number | null | Reply[];

export class RedisError extends Error {}

export class Resp {
  private socket!: Socket;
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];

  static async open(url: string): Promise<Resp> {
    const u = new URL(url);
    const client = new Resp();
    await new Promise<void>((resolve, reject) => {
      client.socket = connect(Number(u.port || 6379), u.hostname, resolve);
      client.socket.once('error', reject);
    });
    client.socket.on('data', (chunk) => client.onData(chunk));
    client.socket.on('error', (err) => client.failAll(err));
    client.socket.on('close', () => client.failAll(new Error('redis connection closed')));
    if (u.password) await client.call(...(u.username ? ['AUTH', decodeURIComponent(u.username), decodeURIComponent(u.password)] : ['AUTH', decodeURIComponent(u.password)]));
    const db = u.pathname.replace(/^\//, '');
    if (db) await client.call('SELECT', db);
    return client;
  }

  call(...args: (string | number)[]): Promise<Reply> {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) {
      const s = String(a);
      parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(parts.join(''));
    });
  }

  close(): void {
    this.socket.end();
  }

  private failAll(err: Error) {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private onData(chunk: Buffer) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = this.parse(0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.end);
      const w = this.waiting.shift();
      if (parsed.value instanceof RedisError) w?.reject(parsed.value);
      else w?.resolve(parsed.value as Reply);
    }
  }

  /** One reply starting at `at`, or undefined when it has not fully arrived yet. */
  private parse(at: number): { value: Reply | RedisError; end: number } | undefined {
    const eol = this.buffer.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(this.buffer[at]);
    const line = this.buffer.toString('utf8', at + 1, eol);
    const next = eol + 2;
    if (type === '+') return { value: line, end: next };
    if (type === '-') return { value: new RedisError(line), end: next };
    if (type === ':') return { value: Number(line), end: next };
    if (type === '$') {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (this.buffer.length < next + len + 2) return undefined;
      return { value: this.buffer.toString('utf8', next, next + len), end: next + len + 2 };
    }
    if (type === '*') {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = this.parse(pos);
        if (!item) return undefined;
        if (item.value instanceof RedisError) return item;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    throw new Error(`unexpected RESP type ${type}`);
  }
}
