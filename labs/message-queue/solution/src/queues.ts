// Shared by the producer and the consumer: the queues, declared the same way by both (declaring is idempotent).
import type { Channel } from 'amqplib';

export const QUEUE = 'orders';
export const DEAD = 'orders.dead';

export async function declareQueues(ch: Channel): Promise<void> {
  await ch.assertQueue(DEAD, { durable: true });
  // A message rejected without requeue goes to orders.dead (through the default exchange).
  await ch.assertQueue(QUEUE, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': DEAD } });
}
