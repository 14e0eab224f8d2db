// A second correct answer, written from the README alone, on amqplib's callback API: one `Broker` object
// per process that owns the connection, declares the queues on every (re)connection, and retries twice a
// second while the broker is away.
import amqp, { type Channel, type ConfirmChannel, type Connection } from 'amqplib/callback_api';

export const ORDERS = 'orders';
export const DEAD_LETTERS = 'orders.dead';
const RETRY_MS = 500;

function declare(ch: Channel, done: (err?: Error) => void): void {
  ch.assertQueue(DEAD_LETTERS, { durable: true }, (err) => {
    if (err) return done(err);
    ch.assertQueue(ORDERS, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': DEAD_LETTERS } }, (err2) => done(err2 ?? undefined));
  });
}

/** Keeps one connection and one channel (a confirm channel if asked) alive; `onChannel` runs for each new one. */
export class Broker<C extends Channel> {
  channel: C | undefined;
  private opened: ((ch: C) => void)[] = [];

  constructor(
    private readonly label: string,
    private readonly confirm: boolean,
    private readonly onChannel: (ch: C, ready: (err?: Error) => void) => void = (_ch, ready) => ready(),
  ) {
    this.open();
  }

  /** Calls back once a channel is ready (at once if it is). */
  whenReady(cb: (ch: C) => void): void {
    if (this.channel) cb(this.channel);
    else this.opened.push(cb);
  }

  private retry(why: string): void {
    this.channel = undefined;
    console.error(`${this.label}: ${why}; trying again in ${RETRY_MS} ms`);
    setTimeout(() => this.open(), RETRY_MS);
  }

  private open(): void {
    amqp.connect(process.env.AMQP_URL!, (err: Error | null, conn: Connection) => {
      if (err) return this.retry(`cannot connect (${err.message})`);
      let closed = false;
      conn.on('error', (e: Error) => console.error(`${this.label}: ${e.message}`));
      conn.on('close', () => {
        closed = true;
        this.retry('connection closed');
      });
      const made = (err2: Error | null, ch: Channel) => {
        if (err2) return void conn.close(() => {});
        ch.on('error', (e: Error) => console.error(`${this.label} channel: ${e.message}`));
        declare(ch, (err3) => {
          if (err3) return void conn.close(() => {});
          this.onChannel(ch as C, (err4) => {
            if (err4 || closed) return void conn.close(() => {});
            this.channel = ch as C;
            console.log(`${this.label}: connected`);
            for (const cb of this.opened.splice(0)) cb(ch as C);
          });
        });
      };
      if (this.confirm) conn.createConfirmChannel(made as (e: Error, c: ConfirmChannel) => void);
      else conn.createChannel(made);
    });
  }
}
