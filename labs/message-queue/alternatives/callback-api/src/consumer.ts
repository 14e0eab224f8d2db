import type { Channel, ConsumeMessage } from 'amqplib/callback_api';
import pg from 'pg';
import { Broker, ORDERS } from './broker.ts';

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 3 });
await db.query('CREATE TABLE IF NOT EXISTS processed_orders (order_id text NOT NULL, amount integer NOT NULL, received_at timestamptz DEFAULT now())');
await db.query('CREATE UNIQUE INDEX IF NOT EXISTS processed_orders_once ON processed_orders (order_id)');
const prefetch = Number(process.env.PREFETCH ?? 5);

function parse(msg: ConsumeMessage): { id: string; amount: number } | undefined {
  try {
    const o = JSON.parse(msg.content.toString('utf8'));
    return o && typeof o.id === 'string' && Number.isInteger(o.amount) && o.amount > 0 ? { id: o.id, amount: o.amount } : undefined;
  } catch {
    return undefined;
  }
}

/** The channel may be gone (the broker restarted): then the message is already back in the queue. */
function tell(ch: Channel, what: () => void): void {
  try {
    what();
  } catch (err) {
    console.error(`the delivery's channel is gone (${(err as Error).message}); it will come again`);
  }
}

async function onMessage(ch: Channel, msg: ConsumeMessage): Promise<void> {
  const order = parse(msg);
  if (!order) return tell(ch, () => ch.reject(msg, false)); // dead-lettered to orders.dead
  try {
    await db.query('INSERT INTO processed_orders (order_id, amount) VALUES ($1, $2)', [order.id, order.amount]);
  } catch (err) {
    // 23505: a row for this order is already there: this delivery is a duplicate, its work is done.
    if ((err as { code?: string }).code !== '23505') {
      console.error(`order ${order.id} not recorded: ${(err as Error).message}`);
      return tell(ch, () => ch.nack(msg, false, true));
    }
  }
  tell(ch, () => ch.ack(msg));
}

new Broker<Channel>('consumer', false, (ch, ready) => {
  ch.prefetch(prefetch);
  ch.consume(ORDERS, (msg) => msg && void onMessage(ch, msg), { noAck: false }, (err) => ready(err ?? undefined));
});
