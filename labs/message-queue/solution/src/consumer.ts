// Reference solution, the consumer: manual acks after the work, a bounded prefetch, an idempotent effect
// (one row per order id, whatever the redeliveries), and messages it cannot process dead-lettered.
import amqp from 'amqplib';
import pg from 'pg';
import { declareQueues, QUEUE } from './queues.ts';

const PREFETCH = Number(process.env.PREFETCH ?? 10);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
await pool.query(`CREATE TABLE IF NOT EXISTS processed_orders (
  order_id text PRIMARY KEY, amount integer NOT NULL, processed_at timestamptz NOT NULL DEFAULT now())`);

const connection = await amqp.connect(process.env.AMQP_URL!);
const channel = await connection.createChannel();
await declareQueues(channel);
await channel.prefetch(PREFETCH); // at most PREFETCH messages delivered and not yet acked

await channel.consume(
  QUEUE,
  async (msg) => {
    if (!msg) return; // the queue was deleted
    let order: { id: unknown; amount: unknown };
    try {
      order = JSON.parse(msg.content.toString('utf8'));
      if (typeof order.id !== 'string' || !Number.isSafeInteger(order.amount) || (order.amount as number) <= 0) throw new Error('not an order');
    } catch (err) {
      console.log(`dead-lettering a message that is not an order: ${(err as Error).message}`);
      channel.nack(msg, false, false); // no requeue: to orders.dead
      return;
    }
    try {
      // Idempotent: a redelivered message (after a crash before the ack) adds nothing the second time.
      await pool.query('INSERT INTO processed_orders (order_id, amount) VALUES ($1, $2) ON CONFLICT (order_id) DO NOTHING', [order.id, order.amount]);
      channel.ack(msg); // only now: a crash before this line redelivers the message
    } catch (err) {
      console.error(`order ${order.id}: ${(err as Error).message}; will be redelivered`);
      channel.nack(msg, false, true);
    }
  },
  { noAck: false },
);
console.log(`consumer started (prefetch ${PREFETCH})`);
