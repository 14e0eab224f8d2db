// idempotency-keys: POST /payments honouring the Idempotency-Key header (draft-ietf-httpapi-idempotency-key-
// header). The grader reads the `payments` table to count what really happened, and it freezes a first
// request deterministically, never by racing: it holds `LOCK TABLE payments IN ACCESS EXCLUSIVE MODE` in its
// own transaction, waits until pg_locks shows the server's INSERT waiting for that lock, and only then sends
// the duplicate, which must be answered 409 at once.
import { CheckFailure, defineLab, expectEqual, expectJson, expectProblem, expectThat, GRADER_APPLICATION_NAME, show, showSfValue, type CheckContext, type HttpResponse, type Random } from '../../grader/index.ts';

interface PaymentBody {
  amount: number;
  currency: string;
  recipient: string;
}

interface Payment extends PaymentBody {
  id: string | number;
}

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'JPY'];
/** How long the duplicate may take while the first is frozen: a 409 needs no waiting at all. */
const DUPLICATE_TIMEOUT_MS = 5000;

/** A payment nobody can predict: the recipient is unique in the table, so rows can be counted by it. */
function newPayment(random: Random): PaymentBody {
  return {
    amount: random.int(100, 99_999),
    currency: random.pick(CURRENCIES),
    recipient: `${random.word()}.${random.string(8)}@example.org`,
  };
}

/** A fresh key, UUID-shaped (any string of 1-255 printable characters would do). */
function newKey(random: Random): string {
  const hex = (n: number) => random.string(n, '0123456789abcdef');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${random.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

/** The header as the draft defines it: a Structured Field String, `"<key>"`. */
const keyHeader = (key: string) => ({ 'Idempotency-Key': showSfValue(key) });

interface PostOptions {
  key?: string;
  /** The exact bytes to send (a replay sends the very same bytes). */
  raw?: string;
  timeoutMs?: number;
}

function post(ctx: CheckContext, body: PaymentBody | Record<string, unknown>, o: PostOptions = {}): Promise<HttpResponse> {
  return ctx.http.request('/payments', {
    method: 'POST',
    body: o.raw ?? JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...(o.key === undefined ? {} : keyHeader(o.key)) },
    timeoutMs: o.timeoutMs,
    newConnection: true,
  });
}

function isPayment(value: unknown): value is Payment {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const p = value as Record<string, unknown>;
  return (typeof p.id === 'number' || (typeof p.id === 'string' && p.id !== '')) && typeof p.amount === 'number' && typeof p.currency === 'string' && typeof p.recipient === 'string';
}

/** A 201 whose body is the payment just sent, with an id. */
function expectCreated(res: HttpResponse, sent: PaymentBody, why: string): Payment {
  const body = expectJson(res, 201, why);
  expectThat(isPayment(body), 'A payment must be a JSON object with an `id` (number or string), `amount`, `currency` and `recipient`.', {
    expected: `{"id": 1, "amount": ${sent.amount}, "currency": "${sent.currency}", "recipient": "${sent.recipient}", ...}`,
    res,
  });
  const same = body.amount === sent.amount && body.currency === sent.currency && body.recipient === sent.recipient;
  expectThat(same, 'The created payment must have exactly the `amount`, `currency` and `recipient` that were sent.', {
    expected: show(sent),
    received: show({ amount: body.amount, currency: body.currency, recipient: body.recipient }),
    res,
  });
  return body;
}

/** The retry must get back what the first request got: same status, same JSON body. */
function expectReplay(res: HttpResponse, first: HttpResponse, what: string): void {
  expectThat(res.status === first.status, `${what} must answer with the first response's status (${first.status}), not ${res.status}: a replay returns the stored response.`, {
    expected: `HTTP ${first.status} with the body of the first response`,
    res,
  });
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = res.text;
  }
  expectEqual(body, first.json(), `${what} must return the same body as the first response (same id, same fields, same values).`, res);
}

/**
 * Runs SQL on the run's database (the one in DATABASE_URL) as the grader. A failure here is about the
 * learner's schema (no `payments` table, another column name), so it fails the check with what was run.
 */
async function sql<T extends Record<string, unknown>>(db: CheckContext['db'], text: string, params: unknown[], why: string): Promise<T[]> {
  try {
    return (await db.query<T>(text, params)).rows;
  } catch (err) {
    throw new CheckFailure({
      message: `${why} The grader ran this SQL on the database in DATABASE_URL and PostgreSQL said: ${(err as Error).message}`,
      expected: `the query to succeed:\n${text}${params.length ? `\nwith ${show(params)}` : ''}`,
      received: `ERROR ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`,
      hint: 'Create the table at startup: `payments` with `id` (generated by the database), `amount` integer, `currency` text and `recipient` text (see README.md).',
    });
  }
}

type Row = {
  id: string;
  amount: number;
  currency: string;
  recipient: string;
};

function rowsFor(db: CheckContext['db'], recipient: string): Promise<Row[]> {
  return sql<Row>(db, 'SELECT id::text AS id, amount, currency, recipient FROM payments WHERE recipient = $1 ORDER BY id', [recipient], 'The grader counts the rows of `payments` for this recipient.');
}

async function expectRows(db: CheckContext['db'], sent: PaymentBody, n: number, message: string, res?: HttpResponse): Promise<Row[]> {
  const rows = await rowsFor(db, sent.recipient);
  expectThat(rows.length === n, message, {
    expected: `${n} row${n === 1 ? '' : 's'} in payments with recipient = '${sent.recipient}'`,
    received: `${rows.length} row${rows.length === 1 ? '' : 's'}${rows.length ? `: ${show(rows)}` : ''}`,
    res,
  });
  return rows;
}

export default defineLab(
  {
    id: 'idempotency-keys',
    title: 'Idempotency keys: retry-safe POST /payments',
    track: 'api-design',
    summary: 'Make a non-idempotent POST safe to retry with the Idempotency-Key header: replay the stored response, reject a reused key with another payload (422), and refuse a duplicate while the first is still running (409).',
    difficulty: 'advanced',
    estimatedMinutes: 90,
    questions: [14, 26],
    // The engine's malformed-requests check runs before the last check (which stops the server: it would be started again for it).
    malformedRequests: { before: 'survives-restart' },
    services: ['postgres'],
    checks: [
      {
        id: 'create',
        title: 'POST /payments with an Idempotency-Key creates one payment: 201, a row in `payments`; bad bodies are 400',
        hint: 'INSERT INTO payments (amount, currency, recipient) ... RETURNING id, ...; answer 201 with that row as JSON. A different key is a different payment, even with the same body.',
        async run(ctx) {
          const sent = newPayment(ctx.random);
          const res = await post(ctx, sent, { key: newKey(ctx.random) });
          const payment = expectCreated(res, sent, 'POST /payments with a new Idempotency-Key and a valid payment must answer 201 Created with the payment as JSON.');
          const rows = await expectRows(ctx.db, sent, 1, 'The new payment must be exactly one row of the table `payments`.', res);
          expectThat(rows[0].id === String(payment.id) && rows[0].amount === sent.amount && rows[0].currency === sent.currency, 'The row in `payments` must have the id of the response and the amount and currency that were sent.', {
            expected: show({ id: String(payment.id), ...sent }),
            received: show(rows[0]),
            res,
          });

          // Idempotency is per key, not per payload: paying the same person the same amount twice is allowed.
          const again = await post(ctx, sent, { key: newKey(ctx.random) });
          const second = expectCreated(again, sent, 'The same payment sent again with a *different* Idempotency-Key is a new payment: 201 Created.');
          expectThat(String(second.id) !== String(payment.id), 'A different Idempotency-Key must create a different payment (a new id): keys, not bodies, identify a request.', {
            expected: `an id other than ${payment.id}`,
            res: again,
          });
          await expectRows(ctx.db, sent, 2, 'Two keys, two payments: the table must now hold two rows for this recipient.', again);

          const bad: Record<string, unknown>[] = [
            { ...newPayment(ctx.random), amount: -ctx.random.int(1, 500) },
            { ...newPayment(ctx.random), amount: String(ctx.random.int(100, 999)) },
            { amount: ctx.random.int(100, 999), currency: 'EUR' },
          ];
          for (const body of bad) {
            const r = await post(ctx, body, { key: newKey(ctx.random) });
            expectProblem(r, 400, `POST /payments with ${JSON.stringify(body)} is not a valid payment: answer 400 with problem details.`);
            if (typeof body.recipient === 'string') await expectRows(ctx.db, body as unknown as PaymentBody, 0, 'A refused payment must not be stored.', r);
          }
        },
      },
      {
        id: 'missing-key',
        title: 'POST /payments without an Idempotency-Key is 400 (problem details) and creates nothing',
        hint: 'The key is required: before anything else, answer 400 application/problem+json when the Idempotency-Key header is absent.',
        async run(ctx) {
          const sent = newPayment(ctx.random);
          const res = await post(ctx, sent);
          expectProblem(res, 400, 'POST /payments without an Idempotency-Key header must be refused with 400 and problem details: a payment that cannot be retried safely is not accepted.');
          await expectRows(ctx.db, sent, 0, 'A POST refused for its missing Idempotency-Key must not create a payment.', res);
        },
      },
      {
        id: 'replay',
        title: 'The same key and body again returns the first response (status, body, id) and creates no second row',
        hint: 'Store the status and body of the first response with the key; when the key comes back with the same payload, send that stored response again and do nothing else.',
        async run(ctx) {
          const sent = newPayment(ctx.random);
          const key = newKey(ctx.random);
          const raw = JSON.stringify(sent);
          const first = await post(ctx, sent, { key, raw });
          expectCreated(first, sent, 'POST /payments with a new Idempotency-Key must answer 201 Created.');
          for (let i = 1; i <= 2; i++) {
            const retry = await post(ctx, sent, { key, raw });
            expectReplay(retry, first, `Retry ${i} of the same POST /payments (same Idempotency-Key, same body)`);
          }
          await expectRows(ctx.db, sent, 1, 'The request was sent three times with one Idempotency-Key: exactly one payment may exist.');
        },
      },
      {
        id: 'different-body',
        title: 'The same key with a different body is 422 (problem details) and changes nothing',
        hint: 'Keep a fingerprint of the request body (e.g. its SHA-256) with the key; a reused key whose fingerprint differs gets 422 Unprocessable Content.',
        async run(ctx) {
          const sent = newPayment(ctx.random);
          const key = newKey(ctx.random);
          const raw = JSON.stringify(sent);
          const first = await post(ctx, sent, { key, raw });
          const payment = expectCreated(first, sent, 'POST /payments with a new Idempotency-Key must answer 201 Created.');
          const other = newPayment(ctx.random);
          const variants: [string, PaymentBody][] = [
            ['another amount', { ...sent, amount: sent.amount + ctx.random.int(1, 900) }],
            ['another recipient', { ...sent, recipient: other.recipient }],
          ];
          for (const [what, body] of variants) {
            const res = await post(ctx, body, { key });
            expectProblem(res, 422, `The Idempotency-Key ${key} was first used for ${raw}; reusing it with ${what} (${JSON.stringify(body)}) must be refused with 422 and problem details.`);
          }
          await expectRows(ctx.db, other, 0, 'The refused request (reused key, other recipient) must not create a payment.');
          const rows = await expectRows(ctx.db, sent, 1, 'The refused requests must leave exactly the one original payment.');
          expectThat(rows[0].id === String(payment.id) && rows[0].amount === sent.amount, 'The original payment must be unchanged after the refused requests.', {
            expected: show({ id: String(payment.id), ...sent }),
            received: show(rows[0]),
          });
          const retry = await post(ctx, sent, { key, raw });
          expectReplay(retry, first, 'After the refused requests, a retry with the original body');
        },
      },
      {
        id: 'in-flight',
        title: 'A duplicate while the first request is still running is 409 (problem details) at once, and one payment results',
        hint: 'Commit the key as "in progress" before you write the payment; a retry that finds it in progress (no stored response yet) answers 409 immediately, without waiting and without touching payments.',
        timeoutMs: 45_000,
        async run(ctx) {
          const sent = newPayment(ctx.random);
          const key = newKey(ctx.random);
          const raw = JSON.stringify(sent);
          const table = await sql<{ t: string | null }>(ctx.db, "SELECT to_regclass('payments')::text AS t", [], 'The grader looks for the table `payments`.');
          if (!table[0]?.t) ctx.fail({ message: 'There is no table `payments` in the database of DATABASE_URL: create it at startup.', expected: 'a table payments', received: 'no such table' });
          const locker = await ctx.db.connect();
          const watcher = await ctx.db.connect();
          let firstRes: HttpResponse | undefined;
          let firstErr: unknown;
          let settled = false;
          let first: Promise<void> | undefined;
          try {
            await locker.query('BEGIN');
            await locker.query('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
            ctx.note('holding LOCK TABLE payments IN ACCESS EXCLUSIVE MODE; sending the first request');
            first = post(ctx, sent, { key, raw, timeoutMs: 30_000 }).then(
              (r) => {
                firstRes = r;
                settled = true;
              },
              (e) => {
                firstErr = e;
                settled = true;
              },
            );
            // Deterministic: wait until PostgreSQL shows one of the server's connections waiting for the lock.
            const waiting = `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                             WHERE NOT l.granted AND l.relation = 'payments'::regclass AND a.datname = current_database()
                               AND a.application_name IS DISTINCT FROM '${GRADER_APPLICATION_NAME}'`;
            const deadline = performance.now() + 15_000;
            let blocked = false;
            while (!blocked && !settled && performance.now() < deadline) {
              blocked = (await watcher.query<{ n: number }>(waiting)).rows[0].n > 0;
              if (!blocked) await ctx.sleep(25);
            }
            if (!blocked) {
              const what = firstRes ? `it answered ${firstRes.status} without waiting for the lock` : firstErr ? `it failed: ${(firstErr as Error).message}` : 'after 15 s, none of your connections waits for the lock on payments';
              throw new CheckFailure({
                message: `The grader locked the table payments and sent a first POST /payments, expecting your server to wait for the lock when it writes the payment; ${what}. The payment must be a row written to payments while the request is handled (see README: the grader freezes the first request this way).`,
                expected: 'your INSERT INTO payments waiting for the grader\'s lock (seen in pg_locks)',
                received: firstRes ? `HTTP ${firstRes.status}: ${firstRes.text.slice(0, 200)}` : 'no connection of your server waiting on payments',
                exchange: firstRes?.exchange,
              });
            }
            ctx.note('the first request is frozen on the lock; sending the duplicate');
            let dup: HttpResponse;
            try {
              dup = await post(ctx, sent, { key, raw, timeoutMs: DUPLICATE_TIMEOUT_MS });
            } catch (err) {
              if (err instanceof CheckFailure && err.details.transport === 'timeout') {
                throw new CheckFailure({
                  ...err.details,
                  message: `While the first request with Idempotency-Key ${key} was still running (frozen on the grader's lock on payments), the duplicate got no answer within ${DUPLICATE_TIMEOUT_MS / 1000} s: it waited for the first one (or did the work again and waited on payments). Answer 409 at once instead.`,
                  expected: 'HTTP 409 with problem details, immediately',
                });
              }
              throw err;
            }
            expectProblem(dup, 409, `A duplicate sent while the first request with the same Idempotency-Key is still being processed must be refused with 409 Conflict (and problem details); it answered ${dup.status}.`);
          } finally {
            await locker.query('ROLLBACK').catch(() => {});
            locker.release();
            watcher.release();
          }
          ctx.note('lock released; waiting for the first request to finish');
          await first;
          if (!firstRes) throw firstErr;
          expectCreated(firstRes, sent, 'Once the grader released its lock, the first request must complete: 201 Created with the payment.');
          await expectRows(ctx.db, sent, 1, 'The first request and its duplicate must leave exactly one payment.', firstRes);
        },
      },
      {
        id: 'survives-restart',
        title: 'Keys outlive the process: after a restart, a retry still gets the stored response and creates nothing',
        hint: 'Keep keys and stored responses in PostgreSQL (a table of their own), not in a Map: a client retries exactly when something went wrong, restarts included.',
        timeoutMs: 40_000,
        async run(ctx) {
          const sent = newPayment(ctx.random);
          const key = newKey(ctx.random);
          const raw = JSON.stringify(sent);
          const first = await post(ctx, sent, { key, raw });
          expectCreated(first, sent, 'POST /payments with a new Idempotency-Key must answer 201 Created.');
          ctx.note('restarting your server (SIGTERM, then start it again)');
          await ctx.server.restart();
          const retry = await post(ctx, sent, { key, raw });
          expectReplay(retry, first, 'After a restart of your server, the retry of the same POST /payments (same key, same body)');
          await expectRows(ctx.db, sent, 1, 'After the restart and the retry, exactly one payment may exist.', retry);
        },
      },
    ],
  },
  import.meta.dirname,
);
