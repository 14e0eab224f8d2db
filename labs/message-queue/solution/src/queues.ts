// Shared by the producer and the consumer: the queues, declared the same way by both (declaring is
// idempotent), and a connection that comes back by itself when the broker restarts.
import amqp, { type Channel, type ChannelModel } from 'amqplib';

export const QUEUE = 'orders';
export const DEAD = 'orders.dead';

export async function declareQueues(ch: Channel): Promise<void> {
  await ch.assertQueue(DEAD, { durable: true });
  // A message rejected without requeue goes to orders.dead (through the default exchange).
  await ch.assertQueue(QUEUE, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': DEAD } });
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1000;

/**
 * Connects to RabbitMQ and runs `setup` (channels, declarations, consume) on every new connection. When the
 * connection closes (the broker restarts, the network drops) or cannot be opened, it tries again after a
 * backoff that doubles from 100 ms up to 1 s. Resolves once the first connection is set up.
 */
export function keepConnected(url: string, name: string, setup: (connection: ChannelModel) => Promise<void>): Promise<void> {
  let ready: () => void;
  const first = new Promise<void>((resolve) => (ready = resolve));
  let retryMs = FIRST_RETRY_MS;
  const again = () => {
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };
  const connect = async () => {
    let connection: ChannelModel;
    try {
      connection = await amqp.connect(url, { clientProperties: { connection_name: name } });
    } catch (err) {
      console.error(`${name}: cannot reach RabbitMQ (${(err as Error).message}); retrying in ${retryMs} ms`);
      return again();
    }
    connection.on('error', (err: Error) => console.error(`${name}: connection error: ${err.message}`));
    connection.once('close', () => {
      console.error(`${name}: connection to RabbitMQ closed; reconnecting`);
      again();
    });
    try {
      await setup(connection);
      retryMs = FIRST_RETRY_MS;
      console.log(`${name}: connected to RabbitMQ`);
      ready();
    } catch (err) {
      console.error(`${name}: setup failed (${(err as Error).message})`);
      await connection.close().catch(() => {}); // its 'close' brings us back here
    }
  };
  void connect();
  return first;
}
