// Reference solution, the producer: POST /orders publishes a persistent message and answers 202 once the
// broker has confirmed it (a confirm channel), so an accepted order is never only in our memory. While the
// broker is away it answers 503, and it reconnects by itself.
import { createServer, type ServerResponse } from 'node:http';
import type { ConfirmChannel } from 'amqplib';
import { declareQueues, keepConnected, QUEUE } from './queues.ts';

const port = Number(process.env.PORT ?? 3000);
/** The channel of the current connection; undefined while there is none. */
let channel: ConfirmChannel | undefined;
await keepConnected(process.env.AMQP_URL!, 'producer', async (connection) => {
  const ch = await connection.createConfirmChannel();
  ch.on('error', (err: Error) => console.error(`producer channel: ${err.message}`));
  await declareQueues(ch);
  channel = ch;
  connection.once('close', () => {
    if (channel === ch) channel = undefined;
  });
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/orders') return json(res, 404, { error: 'not found' });
  let order: any;
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    order = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return json(res, 400, { error: 'the body is not valid JSON' });
  }
  if (typeof order?.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(order.id) || !Number.isSafeInteger(order.amount) || order.amount <= 0) {
    return json(res, 400, { error: '{"id": "<1-64 of A-Z a-z 0-9 _ ->", "amount": <positive integer>} expected' });
  }
  const message = { id: order.id, amount: order.amount };
  const ch = channel;
  if (!ch) return json(res, 503, { error: 'not connected to the broker, try again in a moment' });
  try {
    ch.sendToQueue(QUEUE, Buffer.from(JSON.stringify(message)), { persistent: true, messageId: order.id, contentType: 'application/json' });
    await ch.waitForConfirms();
  } catch (err) {
    console.error(`publish failed: ${(err as Error).message}`);
    return json(res, 503, { error: 'the order could not be queued, try again' });
  }
  json(res, 202, { id: order.id, status: 'queued' });
});

server.listen(port, '0.0.0.0', () => console.log(`api listening on http://localhost:${port}`));
