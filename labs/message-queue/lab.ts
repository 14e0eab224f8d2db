import { CheckFailure, defineLab, expectJson, expectThat, type CheckContext } from '../../grader/index.ts';

// --- helpers -----------------------------------------------------------------------------------------

const QUEUE = 'orders';
const DEAD = 'orders.dead';
const prefetch = (ctx: CheckContext) => Number(ctx.env.PREFETCH);
const PATH_TITLE = 'Between your processes and RabbitMQ (ms since the run began)';

function orderId(ctx: CheckContext, tag: string): string {
  return `${tag}-${ctx.random.string(10)}`;
}

/** Rows of processed_orders for these ids: order_id -> how many rows. */
async function processed(ctx: CheckContext, ids: string[], tableMayBeMissing = false): Promise<Map<string, number>> {
  try {
    const { rows } = await ctx.db.query<{ order_id: string; n: number }>('SELECT order_id::text, count(*)::int AS n FROM processed_orders WHERE order_id::text = ANY($1::text[]) GROUP BY order_id', [ids]);
    return new Map(rows.map((r) => [r.order_id, r.n]));
  } catch (err) {
    // The consumer creates the table when it starts, which may be a moment after the API listens.
    if (tableMayBeMissing && (err as { code?: string }).code === '42P01') return new Map();
    throw new CheckFailure({
      message: `The grader reads the table processed_orders (order_id, amount) in DATABASE_URL, and PostgreSQL said: ${(err as Error).message}`,
      expected: 'a table processed_orders with columns order_id and amount, created by the consumer at startup',
      received: (err as Error).message,
    });
  }
}

/** Waits until every id has its row (or `timeoutMs`); returns the counts. */
async function waitProcessed(ctx: CheckContext, ids: string[], timeoutMs: number): Promise<Map<string, number>> {
  const deadline = performance.now() + timeoutMs;
  let seen = await processed(ctx, ids, true);
  while (ids.some((id) => !seen.has(id)) && performance.now() < deadline) {
    await ctx.sleep(100);
    seen = await processed(ctx, ids, true);
  }
  return processed(ctx, ids);
}

function expectExactlyOnce(seen: Map<string, number>, ids: string[], why: string): void {
  const missing = ids.filter((id) => !seen.has(id));
  const doubled = ids.filter((id) => (seen.get(id) ?? 0) > 1);
  if (missing.length || doubled.length) {
    throw new CheckFailure({
      message: `${why} Every order must be processed exactly once in effect: one row in processed_orders per order id. ${missing.length} missing, ${doubled.length} with more than one row.`,
      expected: `${ids.length} orders, one row each`,
      received: `${missing.length ? `missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '...' : ''}\n` : ''}${doubled.length ? `several rows: ${doubled.slice(0, 5).map((d) => `${d} x${seen.get(d)}`).join(', ')}` : ''}`,
    });
  }
}

/** The grader's own channel, once the learner's processes have declared the queue. */
async function queueReady(ctx: CheckContext): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const stats = await ctx.amqp.queue(QUEUE).catch(() => undefined);
    if (stats) return;
    if (performance.now() > deadline) {
      throw new CheckFailure({ message: `There is no queue \`${QUEUE}\` in the run's RabbitMQ vhost: declare it at startup (durable, with its dead-letter arguments) in the producer and the consumer.`, expected: `a durable queue ${QUEUE}`, received: 'no such queue' });
    }
    await ctx.sleep(100);
  }
}

/**
 * The consumer is a second process, started once the API listens: it may take a few seconds to connect
 * and consume (more on a loaded machine). Checks that count on it being there wait for a consumer on the
 * queue first, so a slow start is not mistaken for a lost order.
 */
async function consumerUp(ctx: CheckContext): Promise<void> {
  await queueReady(ctx);
  const ch = await ctx.amqp.channel();
  const deadline = performance.now() + 15_000;
  while ((await ch.checkQueue(QUEUE)).consumerCount === 0) {
    if (performance.now() > deadline) {
      throw new CheckFailure({ message: `Nothing consumes from \`${QUEUE}\` 15 s after the API started: the consumer (\`npm run consumer\`) must connect, declare the queues and consume.`, expected: `a consumer on ${QUEUE}`, received: `0 consumers; the consumer is ${ctx.process('consumer').running ? 'running' : 'not running'}` });
    }
    await ctx.sleep(100);
  }
}

/** Publishes straight to the queue, as another producer would: persistent, with messageId. */
async function publishDirect(ctx: CheckContext, body: string, messageId: string): Promise<void> {
  await queueReady(ctx);
  const ch = await ctx.amqp.channel();
  ch.sendToQueue(QUEUE, Buffer.from(body), { persistent: true, messageId, contentType: 'application/json' });
}

async function post(ctx: CheckContext, id: string, amount: number): Promise<void> {
  const res = await ctx.http.post('/orders', { id, amount });
  expectJson(res, 202, `POST /orders {"id": "${id}", "amount": ${amount}} must answer 202 Accepted once the order is in the queue (it is processed later, by the consumer).`);
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'message-queue',
    title: 'Message queue: a producer, a consumer and RabbitMQ',
    track: 'async',
    summary: 'Orders through RabbitMQ: a producer that publishes persistent messages, a consumer with manual acks after the work, a bounded prefetch, an idempotent effect in PostgreSQL, and poison messages dead-lettered.',
    difficulty: 'advanced',
    estimatedMinutes: 120,
    questions: [9],
    services: ['postgres', 'rabbitmq'],
    roles: ['api', 'consumer'],
    env: {
      PREFETCH: {
        description: 'The most messages the consumer may hold delivered and not yet acknowledged. The grader picks 3 to 8.',
        value: (r) => String(r.int(3, 8)),
      },
    },
    checks: [
      {
        id: 'publish-consume',
        title: 'POST /orders answers 202, and the consumer records the order in processed_orders',
        hint: 'The producer publishes {"id", "amount"} to the durable queue `orders` (persistent, and waits for the broker\'s confirm), then answers 202; the consumer inserts a row into processed_orders and acks.',
        timeoutMs: 30_000,
        async run(ctx) {
          await consumerUp(ctx);
          const id = orderId(ctx, 'first');
          const amount = ctx.random.int(1, 10_000);
          await post(ctx, id, amount);
          const seen = await waitProcessed(ctx, [id], 5000);
          expectExactlyOnce(seen, [id], `Order ${id} was accepted.`);
          const { rows } = await ctx.db.query<{ amount: number }>('SELECT amount::int AS amount FROM processed_orders WHERE order_id::text = $1', [id]);
          expectThat(rows[0]?.amount === amount, `processed_orders must keep the order's amount (${amount}).`, { expected: `amount ${amount}`, received: `amount ${rows[0]?.amount}` });
          expectJson(await ctx.http.post('/orders', { id: orderId(ctx, 'bad'), amount: 'ten' }), 400, 'POST /orders with an amount that is not a positive integer must be refused with 400 (and nothing published).');
        },
      },
      {
        id: 'many-orders',
        title: '100 orders at once: each processed exactly once',
        hint: 'Nothing special is needed if every step is right: one message per order, one row per message, ack after the insert.',
        timeoutMs: 30_000,
        async run(ctx) {
          const ids = Array.from({ length: 100 }, () => orderId(ctx, 'many'));
          const results = await ctx.burst(ids.length, (i) => post(ctx, ids[i]!, i + 1));
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw (failed as PromiseRejectedResult).reason;
          expectExactlyOnce(await waitProcessed(ctx, ids, 15_000), ids, '100 orders were accepted.');
        },
      },
      {
        id: 'duplicate-message',
        title: 'The same message delivered twice has one effect',
        hint: 'Brokers deliver at least once: make the effect idempotent, keyed on the order id (a PRIMARY KEY on order_id and INSERT ... ON CONFLICT DO NOTHING), and still ack the duplicate.',
        timeoutMs: 30_000,
        async run(ctx) {
          await consumerUp(ctx);
          const id = orderId(ctx, 'dup');
          const body = JSON.stringify({ id, amount: ctx.random.int(1, 999) });
          await publishDirect(ctx, body, id);
          await publishDirect(ctx, body, id);
          await waitProcessed(ctx, [id], 5000);
          await ctx.sleep(500);
          expectExactlyOnce(await processed(ctx, [id]), [id], `The grader published order ${id} twice (same id, same body), as a redelivery would.`);
          const left = await ctx.amqp.channel().then((ch) => ch.checkQueue(QUEUE));
          expectThat(left.messageCount === 0, 'Both copies must be acked (the duplicate too): none may stay in the queue.', { expected: '0 messages ready in orders', received: `${left.messageCount}` });
        },
      },
      {
        id: 'consumer-crash',
        title: 'The consumer killed (kill -9) while holding messages: after a restart every order is processed once',
        hint: 'Acknowledge a message only after its row is committed (manual acks, noAck: false). Unacked messages go back to the queue when the consumer\'s connection dies; auto-ack or an ack before the work loses them.',
        timeoutMs: 40_000,
        async run(ctx) {
          const consumer = ctx.process('consumer');
          const ids = Array.from({ length: 20 }, () => orderId(ctx, 'crash'));
          // The grader locks processed_orders, so the consumer receives messages but cannot finish them.
          const locker = await ctx.db.connect();
          try {
            await locker.query('BEGIN');
            await locker.query('LOCK TABLE processed_orders IN EXCLUSIVE MODE');
            for (let i = 0; i < ids.length; i++) await post(ctx, ids[i]!, i + 1);
            await ctx.sleep(800); // deliveries reach the consumer, which waits on the lock
            await consumer.kill('SIGKILL');
          } finally {
            await locker.query('ROLLBACK').catch(() => {});
            locker.release();
          }
          await consumer.restart();
          expectExactlyOnce(await waitProcessed(ctx, ids, 15_000), ids, 'The consumer was killed (SIGKILL) while it held deliveries it had not finished, then restarted.');
        },
      },
      {
        id: 'prefetch',
        title: 'The consumer holds at most PREFETCH unacknowledged messages',
        hint: 'channel.prefetch(PREFETCH) before consume: the broker then sends no more than that many messages the consumer has not acked. Without it a consumer takes the whole queue into its memory.',
        timeoutMs: 30_000,
        async run(ctx) {
          const limit = prefetch(ctx);
          const ids = Array.from({ length: 40 }, () => orderId(ctx, 'pf'));
          const locker = await ctx.db.connect();
          let ready = 0;
          try {
            await locker.query('BEGIN');
            await locker.query('LOCK TABLE processed_orders IN EXCLUSIVE MODE');
            for (let i = 0; i < ids.length; i++) await post(ctx, ids[i]!, i + 1);
            await ctx.sleep(800);
            ready = (await (await ctx.amqp.channel()).checkQueue(QUEUE)).messageCount;
          } finally {
            await locker.query('ROLLBACK').catch(() => {});
            locker.release();
          }
          const held = ids.length - ready;
          ctx.note(`${ids.length} orders while the consumer could not finish any: ${held} delivered to it, ${ready} still ready in the queue (PREFETCH ${limit})`);
          if (held > limit) throw new CheckFailure({ message: `While the consumer could not finish any order, it held ${held} unacknowledged messages: at most PREFETCH (${limit}) may be delivered and not yet acked.`, expected: `at most ${limit} unacked, at least ${ids.length - limit} ready in ${QUEUE}`, received: `${held} unacked, ${ready} ready` });
          expectExactlyOnce(await waitProcessed(ctx, ids, 15_000), ids, 'Once the table was free again,');
        },
      },
      {
        id: 'poison',
        title: 'A message that is not an order ends in orders.dead, and the queue goes on',
        hint: 'Declare `orders` with x-dead-letter-exchange "" and x-dead-letter-routing-key "orders.dead" (and declare orders.dead). A message you cannot process: nack it without requeue. Requeued, it would come back forever; a crash would stop the consumer.',
        timeoutMs: 20_000,
        async run(ctx) {
          const poisonId = orderId(ctx, 'poison');
          await publishDirect(ctx, ctx.random.pick(['{"id": "', 'not json at all', '{"id": 42, "amount": "ten"}', '[]']), poisonId);
          const after = orderId(ctx, 'after');
          await post(ctx, after, 7);
          expectExactlyOnce(await waitProcessed(ctx, [after], 5000), [after], 'A valid order sent after a poison message must still be processed.');
          const ch = await ctx.amqp.channel();
          const deadline = performance.now() + 3000;
          let found: string | undefined;
          while (!found && performance.now() < deadline) {
            const q = await ch.checkQueue(DEAD).catch(() => undefined);
            if (!q) throw new CheckFailure({ message: `There is no queue \`${DEAD}\`: declare it, and \`${QUEUE}\` with x-dead-letter-exchange "" and x-dead-letter-routing-key "${DEAD}".`, expected: `a queue ${DEAD}`, received: 'no such queue' });
            const msg = await ch.get(DEAD, { noAck: true });
            if (msg && msg.properties.messageId === poisonId) found = msg.content.toString('utf8');
            else if (!msg) await ctx.sleep(100);
          }
          if (!found) throw new CheckFailure({ message: `The grader published a message that is not an order (messageId ${poisonId}); it must be dead-lettered to \`${DEAD}\` (nack without requeue), not dropped, retried forever or left blocking the queue.`, expected: `the message in ${DEAD}`, received: `not in ${DEAD} within 3 s` });
        },
      },
      {
        id: 'broker-restart',
        title: 'RabbitMQ restarts mid-run: the producer and the consumer reconnect, every order processed once',
        hint: 'Handle the connection\'s "error" and "close" events in both processes: connect again with a short backoff (at most 1 s between tries), then declare the queues, set the prefetch and consume again. An ack on the old channel throws: catch it, the broker redelivers that message on the new connection and the insert is idempotent. While disconnected, POST /orders answers 503.',
        timeoutMs: 40_000,
        async run(ctx) {
          const consumer = ctx.process('consumer');
          const held = Array.from({ length: prefetch(ctx) + 2 }, () => orderId(ctx, 'held'));
          const during = Array.from({ length: 5 }, () => orderId(ctx, 'during'));
          const accepted: string[] = [...held, ...during];
          const before = ctx.amqp.learnerConnections();
          // The consumer holds deliveries it cannot finish (processed_orders locked) when the broker goes away;
          // the lock is released while the broker is away, so the inserts commit and the acks have no connection.
          const locker = await ctx.db.connect();
          let restart: Promise<{ cut: number }> | undefined;
          let duringPost: Promise<number> | undefined;
          const downMs = 1500;
          try {
            await locker.query('BEGIN');
            await locker.query('LOCK TABLE processed_orders IN EXCLUSIVE MODE');
            for (let i = 0; i < held.length; i++) await post(ctx, held[i]!, i + 1);
            await ctx.sleep(500);
            restart = ctx.amqp.restartBroker({ downMs, sleep: (ms) => ctx.sleep(ms) });
            await ctx.sleep(300);
            // Another producer (the grader, on a connection of its own) publishes while the learner's are cut off.
            for (const id of during) await publishDirect(ctx, JSON.stringify({ id, amount: 5 }), id);
            const probeId = orderId(ctx, 'down');
            duringPost = ctx.http.post('/orders', { id: probeId, amount: 3 }).then(
              (res) => {
                if (res.status === 202) accepted.push(probeId);
                return res.status;
              },
              () => 0,
            );
          } finally {
            await locker.query('ROLLBACK').catch(() => {});
            locker.release();
          }
          const { cut } = await restart!;
          const upAt = performance.now();
          ctx.note(`RabbitMQ away for ${downMs} ms: ${cut} connection(s) of your processes cut (${before ?? '?'} open before)`);
          const downStatus = await duringPost!;
          if (downStatus !== 202 && !(downStatus >= 500 && downStatus <= 599) && downStatus !== 0) {
            throw new CheckFailure({ message: `While RabbitMQ was unreachable, POST /orders answered ${downStatus}. An order the broker has not confirmed is not accepted: answer 503 (or wait for the reconnection and the confirm, then 202).`, expected: '503 (or 202 once confirmed)', received: `HTTP ${downStatus}`, transcript: ctx.amqp.transcript(), transcriptTitle: PATH_TITLE });
          }
          // Both processes must come back by themselves.
          const budgetMs = 6000;
          let after: string | undefined;
          let lastStatus = 0;
          while (!after && performance.now() - upAt < budgetMs) {
            const id = orderId(ctx, 'after');
            const res = await ctx.http.post('/orders', { id, amount: 9 }).catch(() => undefined);
            lastStatus = res?.status ?? 0;
            if (res?.status === 202) after = id;
            else await ctx.sleep(250);
          }
          if (!after) {
            throw new CheckFailure({
              message: `RabbitMQ was back ${Math.round((performance.now() - upAt) / 1000)} s ago and POST /orders still does not answer 202 (last: ${lastStatus || 'no answer'}): the producer did not reconnect. Listen for the connection's "close" event and connect again (with a backoff of at most 1 s), then create the confirm channel and declare the queues again.`,
              expected: `202 within ${budgetMs / 1000} s of the broker accepting connections again`,
              received: `HTTP ${lastStatus || 'none'}`,
              transcript: ctx.amqp.transcript(),
              transcriptTitle: PATH_TITLE,
            });
          }
          accepted.push(after);
          if (!consumer.running) throw new CheckFailure({ message: 'The consumer exited when RabbitMQ went away. It must reconnect by itself; an ack on the channel of a dead connection throws: catch it (the broker delivers that message again).', expected: 'the consumer running, consuming again', received: 'the consumer is not running', transcript: ctx.amqp.transcript(), transcriptTitle: PATH_TITLE });
          const ch = await ctx.amqp.channel();
          let consumers = (await ch.checkQueue(QUEUE)).consumerCount;
          while (consumers === 0 && performance.now() - upAt < budgetMs) {
            await ctx.sleep(200);
            consumers = (await ch.checkQueue(QUEUE)).consumerCount;
          }
          if (consumers === 0) {
            throw new CheckFailure({ message: `RabbitMQ was back for ${budgetMs / 1000} s and nothing consumes from \`${QUEUE}\`: the consumer did not reconnect. Listen for the connection's "close" event, connect again, then prefetch and consume again.`, expected: `a consumer on ${QUEUE}`, received: '0 consumers', transcript: ctx.amqp.transcript(), transcriptTitle: PATH_TITLE });
          }
          ctx.note(`both processes back within ${Math.round(performance.now() - upAt)} ms of the broker accepting connections; POST /orders while it was away: ${downStatus || 'no answer'}`);
          expectExactlyOnce(await waitProcessed(ctx, accepted, 15_000), accepted, `RabbitMQ went away for ${downMs} ms while the consumer held ${held.length} orders it had not acked, and ${during.length} more were published meanwhile.`);
        },
      },
    ],
  },
  import.meta.dirname,
);
