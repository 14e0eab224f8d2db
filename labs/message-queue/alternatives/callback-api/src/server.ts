import { createServer } from 'node:http';
import type { ConfirmChannel } from 'amqplib/callback_api';
import { Broker, ORDERS } from './broker.ts';

const broker = new Broker<ConfirmChannel>('producer', true);
const ID = /^[A-Za-z0-9_-]{1,64}$/;

const server = createServer((req, res) => {
  const send = (status: number, body: object) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.url !== '/orders' || req.method !== 'POST') return send(404, { error: 'not found' });
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (raw += c));
  req.on('end', () => {
    let body: { id?: unknown; amount?: unknown };
    try {
      body = JSON.parse(raw);
    } catch {
      return send(400, { error: 'invalid JSON' });
    }
    const { id, amount } = body ?? {};
    if (typeof id !== 'string' || !ID.test(id) || typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1) {
      return send(400, { error: 'expected {"id": "<1-64 of A-Z a-z 0-9 _ ->", "amount": <positive integer>}' });
    }
    const ch = broker.channel;
    if (!ch) return send(503, { error: 'the broker is unreachable, try again' });
    try {
      // The callback is the broker's confirm (or its refusal) for this one message.
      ch.publish('', ORDERS, Buffer.from(JSON.stringify({ id, amount })), { persistent: true, messageId: id, contentType: 'application/json' }, (err) => {
        if (err) send(503, { error: 'the broker did not confirm the order, try again' });
        else send(202, { id, status: 'accepted' });
      });
    } catch {
      send(503, { error: 'the broker is unreachable, try again' });
    }
  });
});

// Listen once the first channel is there: until then nothing could be accepted.
broker.whenReady(() => {
  if (!server.listening) server.listen(Number(process.env.PORT ?? 3000), '0.0.0.0', () => console.log('producer listening'));
});
