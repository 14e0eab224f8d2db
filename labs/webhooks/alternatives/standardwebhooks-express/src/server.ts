// Another correct solution: Express 5 and the reference `standardwebhooks` library for signing and
// verification. The webhook route reads the raw body with express.raw(): the signature covers the bytes.
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { Webhook } from 'standardwebhooks';

const port = Number(process.env.PORT ?? 3000);
const incoming = new Webhook(process.env.WEBHOOK_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
const outgoing = new Webhook(process.env.DELIVERY_SECRET ?? 'whsec_plJ3nmyCDGBKInavdOK15jsl');
const retryBaseMs = Number(process.env.DELIVERY_RETRY_BASE_MS ?? 1000);
const attemptTimeoutMs = Number(process.env.DELIVERY_TIMEOUT_MS ?? 5000);
const MAX_ATTEMPTS = 6;

const balances = new Map<string, number>();
const processed = new Set<string>();

const app = express();

app.post('/webhooks', express.raw({ type: () => true }), (req: Request, res: Response) => {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  let event: any;
  try {
    // Checks the headers, the 5-minute timestamp tolerance and every v1 signature; returns the parsed JSON.
    event = incoming.verify(raw, req.headers as Record<string, string>);
  } catch {
    return res.status(401).json({ error: 'invalid webhook signature' });
  }
  const id = req.get('webhook-id')!;
  if (processed.has(id)) return res.status(200).json({ status: 'already processed' });
  if (event?.type === 'account.credited') {
    const { account, amount } = event.data ?? {};
    if (typeof account !== 'string' || !Number.isInteger(amount)) return res.status(400).json({ error: 'bad account.credited data' });
    balances.set(account, (balances.get(account) ?? 0) + amount);
  }
  processed.add(id); // no await between the check and here: concurrent copies cannot both apply
  res.status(200).json({ status: 'processed' });
});

app.get('/accounts/:account', (req, res) => {
  const account = String(req.params.account);
  res.json({ account, balance: balances.get(account) ?? 0 });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function deliver(id: string, payload: string) {
  const url = process.env.DELIVERY_URL;
  if (!url) return console.error(`DELIVERY_URL is not set: ${id} dropped`);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const now = new Date();
    let status = 0;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': outgoing.sign(id, now, payload),
        },
        body: payload,
        signal: AbortSignal.timeout(attemptTimeoutMs),
      });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0; // timeout or connection error: retry
    }
    if ((status >= 200 && status < 300) || status === 410) return;
    if (attempt < MAX_ATTEMPTS) await sleep(retryBaseMs * 2 ** (attempt - 1));
  }
}

app.post('/events', express.json(), (req, res) => {
  const { type, data } = req.body ?? {};
  if (typeof type !== 'string' || typeof data !== 'object' || data === null) return res.status(400).json({ error: 'send {"type", "data"}' });
  const id = `msg_${randomUUID()}`;
  void deliver(id, JSON.stringify({ type, timestamp: new Date().toISOString(), data }));
  res.status(202).json({ id });
});

app.use((_req, res) => {
  res.status(404).json({ error: 'no such route' });
});

app.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));
