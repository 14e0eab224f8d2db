// Reference solution with nothing but node:http and node:crypto: Standard Webhooks verified by hand on the
// receiving side, signed, retried and timed out by hand on the sending side.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);
const webhookSecret = process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const deliverySecret = process.env.DELIVERY_SECRET ?? 'whsec_plJ3nmyCDGBKInavdOK15jsl';
const retryBaseMs = Number(process.env.DELIVERY_RETRY_BASE_MS ?? 1000);
const attemptTimeoutMs = Number(process.env.DELIVERY_TIMEOUT_MS ?? 5000);
const MAX_ATTEMPTS = 6;
const TOLERANCE_SECONDS = 5 * 60;

// ---- Standard Webhooks signatures ----------------------------------------------------------------

/** The key is the base64 part of the secret, after `whsec_`. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}
const webhookKey = keyOf(webhookSecret);
const deliveryKey = keyOf(deliverySecret);

/** base64(HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")) */
function sign(key: Buffer, id: string, timestamp: number, body: Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Returns why the request is not authentic, or undefined if it is. */
function verify(req: IncomingMessage, body: Buffer): string | undefined {
  const id = header(req, 'webhook-id');
  const timestamp = header(req, 'webhook-timestamp');
  const signatures = header(req, 'webhook-signature');
  if (!id || !timestamp || !signatures) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(timestamp)) return 'webhook-timestamp must be seconds since the epoch';
  const now = Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > TOLERANCE_SECONDS) return 'webhook-timestamp is too far from now';
  const expected = Buffer.from(sign(webhookKey, id, Number(timestamp), body));
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1));
    if (given.length === expected.length && timingSafeEqual(given, expected)) return undefined;
  }
  return 'no matching v1 signature';
}

// ---- The receiving side ---------------------------------------------------------------------------

const balances = new Map<string, number>();
/** Stands in for a database: each write takes a few milliseconds of I/O, so check-then-act races are real. */
const ledger = {
  async credit(account: string, amount: number): Promise<void> {
    await sleep(10);
    balances.set(account, (balances.get(account) ?? 0) + amount);
  },
};

/** webhook-id -> state. 'processing' is claimed before the first await, so concurrent copies see it. */
const messages = new Map<string, 'processing' | 'done'>();

async function receive(req: IncomingMessage, res: ServerResponse) {
  const body = await readBody(req); // the raw bytes: the signature is over these, not over re-serialised JSON
  const problem = verify(req, body);
  if (problem) return send(res, 401, { error: problem });
  const id = header(req, 'webhook-id')!;
  const state = messages.get(id);
  if (state === 'done') return send(res, 200, { status: 'already processed' });
  if (state === 'processing') return send(res, 409, { error: 'this message is being processed, retry later' });

  let event: { type?: unknown; data?: { account?: unknown; amount?: unknown } };
  try {
    event = JSON.parse(body.toString('utf8'));
  } catch {
    return send(res, 400, { error: 'the body is not JSON' });
  }
  messages.set(id, 'processing');
  try {
    if (event?.type === 'account.credited') {
      const { account, amount } = event.data ?? {};
      if (typeof account !== 'string' || !Number.isInteger(amount)) {
        messages.delete(id);
        return send(res, 400, { error: 'account.credited needs data.account (string) and data.amount (integer)' });
      }
      await ledger.credit(account, amount as number);
    }
    // Other event types are acknowledged and ignored.
    messages.set(id, 'done');
    send(res, 200, { status: 'processed' });
  } catch (err) {
    messages.delete(id); // let the sender's retry try again
    throw err;
  }
}

// ---- The sending side -----------------------------------------------------------------------------

async function deliver(id: string, body: string): Promise<void> {
  const url = process.env.DELIVERY_URL;
  if (!url) return console.error(`DELIVERY_URL is not set: message ${id} dropped`);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    // A fresh timestamp and signature on every attempt: receivers reject timestamps older than 5 minutes.
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = sign(deliveryKey, id, timestamp, Buffer.from(body));
    let status: number | undefined;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': `v1,${signature}`,
        },
        body,
        signal: AbortSignal.timeout(attemptTimeoutMs),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      console.log(`delivery ${id} attempt ${attempt} failed: ${(err as Error).name}`);
    }
    if (status !== undefined && status >= 200 && status < 300) return;
    if (status === 410) {
      console.log(`delivery ${id}: the endpoint is gone (410), not retrying`);
      return;
    }
    if (attempt < MAX_ATTEMPTS) await sleep(retryBaseMs * 2 ** (attempt - 1));
  }
  console.error(`delivery ${id}: giving up after ${MAX_ATTEMPTS} attempts`);
}

async function publish(req: IncomingMessage, res: ServerResponse) {
  let event: { type?: unknown; data?: unknown };
  try {
    event = JSON.parse((await readBody(req)).toString('utf8'));
  } catch {
    return send(res, 400, { error: 'the body is not JSON' });
  }
  if (typeof event?.type !== 'string' || typeof event.data !== 'object' || event.data === null) {
    return send(res, 400, { error: 'send {"type": "...", "data": {...}}' });
  }
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  const body = JSON.stringify({ type: event.type, timestamp: new Date().toISOString(), data: event.data });
  void deliver(id, body); // in the background: the caller gets 202 at once
  send(res, 202, { id });
}

// ---- HTTP plumbing --------------------------------------------------------------------------------

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const server = createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const account = /^\/accounts\/([^/]+)$/.exec(url.pathname);
  let work: Promise<void> | void;
  if (url.pathname === '/webhooks' && req.method === 'POST') work = receive(req, res);
  else if (url.pathname === '/events' && req.method === 'POST') work = publish(req, res);
  else if (account && req.method === 'GET') {
    const name = decodeSegment(account[1]);
    work = send(res, 200, { account: name, balance: balances.get(name) ?? 0 });
  } else work = send(res, 404, { error: 'no such route' });
  Promise.resolve(work).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
    else res.destroy();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
