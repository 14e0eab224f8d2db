// Reference solution, the consumer: manual acks after the work, a bounded prefetch, an idempotent effect
// (one row per order id, whatever the redeliveries), messages it cannot process dead-lettered, and a new
// connection (and consumer) whenever the broker goes away.
import type { Channel, ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { declareQueues, keepConnected, QUEUE } from './queues.ts';

const PREFETCH = Number(process.env.PREFETCH ?? 10);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
await pool.query(`CREATE TABLE IF NOT EXISTS processed_orders (
  order_id text PRIMARY KEY, amount integer NOT NULL, processed_at timestamptz NOT NULL DEFAULT now())`);

/**
 * An ack or a nack on a channel whose connection has died throws. Nothing is lost: the broker put the message
 * back when the connection dropped, and it comes again on the next connection (where the insert is a no-op).
 */
function settle(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    console.log(`could not ${what} (${(err as Error).message}): the broker will deliver it again`);
  }
}

async function handle(channel: Channel, msg: ConsumeMessage): Promise<void> {
  let order: { id: unknown; amount: unknown };
  try {
    order = JSON.parse(msg.content.toString('utf8'));
    if (typeof order.id !== 'string' || !Number.isSafeInteger(order.amount) || (order.amount as number) <= 0) throw new Error('not an order');
  } catch (err) {
    console.log(`dead-lettering a message that is not an order: ${(err as Error).message}`);
    settle('dead-letter', () => channel.nack(msg, false, false)); // no requeue: to orders.dead
    return;
  }
  try {
    // Idempotent: a redelivered message (after a crash before the ack) adds nothing the second time.
    await pool.query('INSERT INTO processed_orders (order_id, amount) VALUES ($1, $2) ON CONFLICT (order_id) DO NOTHING', [order.id, order.amount]);
  } catch (err) {
    console.error(`order ${order.id}: ${(err as Error).message}; will be redelivered`);
    settle('requeue', () => channel.nack(msg, false, true));
    return;
  }
  settle('ack', () => channel.ack(msg)); // only now: a crash before this line redelivers the message
}

keepConnected(process.env.AMQP_URL!, 'consumer', async (connection) => {
  const channel = await connection.createChannel();
  channel.on('error', (err: Error) => console.error(`consumer channel: ${err.message}`));
  await declareQueues(channel);
  await channel.prefetch(PREFETCH); // at most PREFETCH messages delivered and not yet acked
  await channel.consume(
    QUEUE,
    (msg) => {
      if (msg) void handle(channel, msg); // null: the queue was deleted
    },
    { noAck: false },
  );
  console.log(`consumer started (prefetch ${PREFETCH})`);
});
