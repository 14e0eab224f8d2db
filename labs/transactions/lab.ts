import { CheckFailure, defineLab, learnerSql, expectJson, expectThat, show, type CheckContext, type HttpProbe, type HttpResponse, type Random } from '../../grader/index.ts';

// --- helpers -----------------------------------------------------------------------------------------

type Db = CheckContext['db'];

/** The grader's own connections carry this application_name (see grader/services/postgres.ts). */
const GRADER_APP = 'backend-labs-grader';
const SCHEMA_HINT =
  'Create the three tables of README.md at startup if they are missing: accounts (id text PRIMARY KEY, balance bigint), transfers (id, from_account, to_account, amount) and ledger_entries (transfer_id, account_id, amount).';
/** How often the grader sends a transfer again after a 409 or 503 ("nothing was applied, try again"). */
const RETRIES = 8;

interface Account {
  id: string;
  balance: number;
}

interface TransferRequest {
  from: string;
  to: string;
  amount: number;
}

/** A transfer as sent, with the answer that came back (after retrying 409/503). */
interface Outcome {
  request: TransferRequest;
  res?: HttpResponse;
  /** Transport failure (no answer). */
  error?: string;
  attempts: number;
  /** The transfer's id from a 2xx body. */
  id?: string;
}

function accountId(random: Random, label: string): string {
  return `${label}-${random.word(4, 6)}-${random.string(6)}`;
}

/** Runs SQL as the grader on the run's database (the one in DATABASE_URL); a failure is about the learner's schema. */
async function sql<T extends Record<string, unknown>>(db: Db, text: string, params: unknown[], why: string): Promise<T[]> {
  return learnerSql<T>(db, text, params, { why, hint: SCHEMA_HINT });
}

async function seed(db: Db, accounts: Account[]): Promise<void> {
  const values = accounts.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
  await sql(db, `INSERT INTO accounts (id, balance) VALUES ${values}`, accounts.flatMap((a) => [a.id, a.balance]), 'The grader creates its accounts with INSERT INTO accounts (id, balance).');
}

/** Balances as the database has them (numbers; null for a missing account). */
async function balances(db: Db, ids: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; balance: string }>(db, 'SELECT id::text AS id, balance::text AS balance FROM accounts WHERE id::text = ANY($1::text[])', [ids], 'Reading the balances.');
  return new Map(rows.map((r) => [r.id, Number(r.balance)]));
}

type TransferRow = {
  id: string;
  from_account: string;
  to_account: string;
  amount: string;
};

type LedgerRow = {
  transfer_id: string;
  account_id: string;
  amount: string;
};

/** Every transfer that touches one of `ids`, and every ledger entry of those accounts or transfers. */
async function rowsFor(db: Db, ids: string[]): Promise<{ transfers: TransferRow[]; ledger: LedgerRow[] }> {
  const transfers = await sql<TransferRow>(
    db,
    'SELECT id::text AS id, from_account::text AS from_account, to_account::text AS to_account, amount::text AS amount FROM transfers WHERE from_account::text = ANY($1::text[]) OR to_account::text = ANY($1::text[]) ORDER BY id',
    [ids],
    'Reading the transfers table.',
  );
  const ledger = await sql<LedgerRow>(
    db,
    `SELECT transfer_id::text AS transfer_id, account_id::text AS account_id, amount::text AS amount FROM ledger_entries
      WHERE account_id::text = ANY($1::text[]) OR transfer_id::text = ANY($2::text[]) ORDER BY transfer_id, amount`,
    [ids, transfers.map((t) => t.id)],
    'Reading the ledger_entries table.',
  );
  return { transfers, ledger };
}

/** A whole number of cents, as a JSON number (not a string: `pg` hands bigint columns over as strings). */
function cents(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

/** The id of a transfer from a 2xx body, as text (a JSON number or string). */
function idOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const id = (body as { id?: unknown }).id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id === 'string' && id !== '') return id;
  return undefined;
}

function parseJson(res: HttpResponse): unknown {
  try {
    return JSON.parse(res.text);
  } catch {
    return undefined;
  }
}

const is2xx = (status: number) => status >= 200 && status < 300;
const retryable = (status: number) => status === 409 || status === 503;

/** POST /transfers, sent again (up to RETRIES times) while the answer is 409 or 503, as the README allows. */
async function send(ctx: CheckContext, request: TransferRequest, timeoutMs: number): Promise<Outcome> {
  let attempts = 0;
  for (;;) {
    attempts++;
    let res: HttpResponse;
    try {
      res = await ctx.http.post('/transfers', request, { timeoutMs, newConnection: true });
    } catch (err) {
      if (err instanceof CheckFailure) return { request, error: err.message, attempts };
      throw err;
    }
    if (retryable(res.status) && attempts <= RETRIES) {
      await ctx.sleep(25 * attempts + Math.floor(Math.random() * 25));
      continue;
    }
    return { request, res, attempts, id: is2xx(res.status) ? idOf(parseJson(res)) : undefined };
  }
}

const SERVER_BACKENDS = `FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'
  AND application_name IS DISTINCT FROM '${GRADER_APP}' AND pid <> pg_backend_pid()`;

/**
 * Waits until the server's connections are blocked on locks the grader holds: `want` of them, or a count
 * that has not grown for 1 s (a pool smaller than the burst), at most `maxMs`. Returns the count.
 */
async function waitForWaiters(db: Db, want: number, maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs;
  let best = 0;
  let grewAt = performance.now();
  while (performance.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n ${SERVER_BACKENDS} AND wait_event_type = 'Lock'`);
    const n = rows[0]?.n ?? 0;
    if (n > best) {
      best = n;
      grewAt = performance.now();
    }
    if (best >= want || (best > 0 && performance.now() - grewAt >= 1000)) return best;
    await new Promise((r) => setTimeout(r, 20));
  }
  return best;
}

/**
 * A connection of the server that sits `idle in transaction` this long is a leaked transaction: a correct
 * server goes from one statement of a transaction to the next in milliseconds, and ends it before answering.
 */
const LEAK_MS = 3000;

interface Leak {
  pid: number;
  idle_s: string;
  query: string;
  blocking: number;
}

/** The server's connections idle in a transaction for at least LEAK_MS (and how many others wait on their locks). */
async function leakedTransactions(db: Db): Promise<Leak[]> {
  const { rows } = await db.query<Leak>(
    `SELECT pid, round(extract(epoch FROM now() - state_change)::numeric, 1)::text AS idle_s, left(query, 200) AS query,
       (SELECT count(*)::int FROM pg_stat_activity w WHERE a.pid = ANY(pg_blocking_pids(w.pid))) AS blocking
     FROM pg_stat_activity a WHERE datname = current_database() AND backend_type = 'client backend'
       AND application_name IS DISTINCT FROM '${GRADER_APP}' AND pid <> pg_backend_pid()
       AND state IN ('idle in transaction', 'idle in transaction (aborted)') AND now() - state_change > interval '${LEAK_MS} milliseconds'
     ORDER BY state_change`,
  );
  return rows;
}

function leakFailure(leaks: Leak[], during: string): CheckFailure {
  const blocked = leaks.reduce((n, l) => n + l.blocking, 0);
  return new CheckFailure({
    message:
      `${during} ${leaks.length} of your server's database connections sat \`idle in transaction\` for ${leaks[0]!.idle_s} s or more (pg_stat_activity)${blocked ? `, holding locks that ${blocked} other statements wait for` : ''}: ` +
      'a transaction was opened on them and never committed or rolled back. Two usual causes: an error or refusal path that gives the connection back to the pool without ROLLBACK, or BEGIN, the statements and COMMIT sent with pool.query() (or any pool-level call), each on whichever pooled connection is free, so the BEGIN stays open on one while the COMMIT lands on another. Take one connection for the whole transaction, end it with COMMIT or ROLLBACK on that connection, then give it back.',
    expected: 'no connection left idle in a transaction (each transaction ends with COMMIT or ROLLBACK on the connection that began it)',
    received: leaks.map((l) => `pid ${l.pid}: idle in transaction for ${l.idle_s} s, last statement: ${l.query.replace(/\s+/g, ' ').trim()}`).join('\n'),
    hint: "node-postgres: const client = await pool.connect(); then BEGIN, the statements, COMMIT (ROLLBACK on error) all with client.query(), and client.release() in finally. psycopg: the statements inside `with conn.transaction():` on one connection.",
  });
}

/**
 * Waits for requests in flight while watching the server's connections: a leaked transaction (see LEAK_MS)
 * fails the check within seconds, instead of after the requests it blocks have timed out one by one.
 */
async function watchingLeaks<T>(db: Db, inFlight: Promise<T>, during: string): Promise<T> {
  let settled = false;
  inFlight.then(
    () => (settled = true),
    () => (settled = true),
  );
  const watch = (async (): Promise<T> => {
    while (!settled) {
      await new Promise((r) => setTimeout(r, 250));
      if (settled) break;
      const leaks = await leakedTransactions(db).catch(() => []);
      if (leaks.length > 0) throw leakFailure(leaks, during);
    }
    return inFlight;
  })();
  return Promise.race([inFlight, watch]);
}

/** Waits (at most `maxMs`) until none of the server's connections is running a query or holding a transaction open. */
async function waitQuiet(db: Db, maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n ${SERVER_BACKENDS} AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')`);
    if ((rows[0]?.n ?? 0) === 0) return;
    // Every request has had its answer: a transaction still open after LEAK_MS was leaked.
    const leaks = await leakedTransactions(db);
    if (leaks.length > 0) throw leakFailure(leaks, 'Every request had its answer, yet');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function describe(o: Outcome | undefined): string {
  if (!o) return '';
  const t = `${o.request.from} -> ${o.request.to}, ${o.request.amount}`;
  if (o.error) return `${t}: no answer (${o.error})`;
  return `${t}: HTTP ${o.res!.status}${o.attempts > 1 ? ` (after ${o.attempts} attempts)` : ''} ${o.res!.text.slice(0, 200)}`;
}

function tally(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key = o.error ? 'no answer' : String(o.res!.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} x ${k}`).join(', ');
}

async function expectBalance(http: HttpProbe, id: string, balance: number, why: string): Promise<void> {
  const res = await http.get(`/accounts/${encodeURIComponent(id)}`);
  const body = expectJson(res, 200, `GET /accounts/${id} must answer 200 with the account as JSON.`);
  expectThat(body?.id === id && cents(body?.balance) === balance, `${why}${typeof body?.balance === 'string' ? ' The balance must be a JSON number, not a string (convert the bigint column with Number()).' : ''}`, {
    expected: show({ id, balance }),
    received: show(body),
    res,
  });
}

/** The database holds exactly this transfer: its row and its two ledger entries. */
async function expectStored(db: Db, id: string, t: TransferRequest, why: string, res?: HttpResponse): Promise<void> {
  const rows = await sql<TransferRow>(db, 'SELECT id::text AS id, from_account::text AS from_account, to_account::text AS to_account, amount::text AS amount FROM transfers WHERE id::text = $1', [id], 'Reading the transfer.');
  expectThat(rows.length === 1 && rows[0].from_account === t.from && rows[0].to_account === t.to && Number(rows[0].amount) === t.amount, `${why} The table \`transfers\` must hold it: one row with id ${id}.`, {
    expected: `1 row: ${show({ id, from_account: t.from, to_account: t.to, amount: t.amount })}`,
    received: `${rows.length} row(s)${rows.length ? `: ${show(rows)}` : ''} (SELECT ... FROM transfers WHERE id = '${id}')`,
    res,
  });
  const ledger = await sql<LedgerRow>(db, 'SELECT transfer_id::text AS transfer_id, account_id::text AS account_id, amount::text AS amount FROM ledger_entries WHERE transfer_id::text = $1 ORDER BY amount', [id], 'Reading the ledger entries.');
  const got = ledger.map((l) => ({ account_id: l.account_id, amount: Number(l.amount) }));
  const want = [
    { account_id: t.from, amount: -t.amount },
    { account_id: t.to, amount: t.amount },
  ];
  expectThat(JSON.stringify(got) === JSON.stringify(want), `${why} The table \`ledger_entries\` must hold its two entries: minus the amount on the source, plus the amount on the destination.`, {
    expected: show(want.map((w) => ({ transfer_id: id, ...w }))),
    received: `${show(ledger)} (SELECT ... FROM ledger_entries WHERE transfer_id = '${id}')`,
    res,
  });
}

/** Nothing of a refused transfer is left: balances as before, no transfer row, no ledger entry. */
async function expectUntouched(db: Db, before: Account[], why: string, res?: HttpResponse): Promise<void> {
  await waitQuiet(db);
  const now = await balances(db, before.map((a) => a.id));
  const changed = before.filter((a) => now.get(a.id) !== a.balance);
  expectThat(changed.length === 0, `${why} The balances must be exactly as before.`, {
    expected: show(before),
    received: show(before.map((a) => ({ id: a.id, balance: now.get(a.id) ?? '(account gone)' }))),
    res,
  });
  const { transfers, ledger } = await rowsFor(db, before.map((a) => a.id));
  expectThat(transfers.length === 0 && ledger.length === 0, `${why} No row of it may be left in \`transfers\` or \`ledger_entries\`.`, {
    expected: 'no rows for these accounts',
    received: `transfers: ${show(transfers)}\nledger_entries: ${show(ledger)}`,
    res,
  });
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Removes the grader's triggers and functions, each statement waiting at most 5 s for its lock (never failing the check). */
async function dropAll(db: Db, statements: string[]): Promise<void> {
  for (const statement of statements) {
    const client = await db.connect().catch(() => undefined);
    if (!client) return;
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '5s'");
      await client.query(statement);
      await client.query('COMMIT');
    } catch {
      await client.query('ROLLBACK').catch(() => {});
    } finally {
      client.release();
    }
  }
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'transactions',
    title: 'Transactions: bank transfers that add up',
    track: 'data',
    summary: 'Money transfers in PostgreSQL: one transaction per transfer, row locks in a consistent order, all or nothing, and a 2xx only after COMMIT.',
    difficulty: 'advanced',
    estimatedMinutes: 120,
    questions: [6],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check, run before
    // the last check (which stops the server: it would be started again for it).
    malformedRequests: { paths: ['/accounts/'], before: 'durable-after-kill' },
    services: ['postgres'],
    checks: [
      {
        id: 'transfer',
        title: 'POST /transfers moves money: balances, one `transfers` row, two ledger entries',
        hint: 'In one transaction: UPDATE the two balances, INSERT the transfer, INSERT its two ledger entries (-amount on `from`, +amount on `to`), COMMIT, then answer 201 with the transfer.',
        async run(ctx) {
          const { http, random, db } = ctx;
          const a: Account = { id: accountId(random, 'alice'), balance: random.int(5_000, 20_000) };
          const b: Account = { id: accountId(random, 'bob'), balance: random.int(0, 3_000) };
          await seed(db, [a, b]);
          await expectBalance(http, a.id, a.balance, `The grader inserted account ${a.id} with balance ${a.balance}: GET /accounts/${a.id} must return it.`);
          const ghost = accountId(random, 'nobody');
          expectJson(await http.get(`/accounts/${ghost}`), 404, `GET /accounts/${ghost}: there is no such account, so the answer is 404 with a JSON error.`);

          let expectA = a.balance;
          let expectB = b.balance;
          const moves: TransferRequest[] = [
            { from: a.id, to: b.id, amount: random.int(100, Math.floor(a.balance / 2)) },
            { from: b.id, to: a.id, amount: random.int(1, 99) },
          ];
          for (const t of moves) {
            const res = await http.post('/transfers', t);
            const body = expectJson(res, [200, 201], `POST /transfers ${JSON.stringify(t)}: the source has enough money, so the transfer must succeed (201 Created) with the transfer as JSON.`);
            const id = idOf(body);
            expectThat(id !== undefined && body.from === t.from && body.to === t.to && cents(body.amount) === t.amount, 'The answer must be the transfer: its `id` (generated by the server), `from`, `to` and `amount`.', {
              expected: show({ id: '(the new id)', ...t }),
              res,
            });
            await waitQuiet(db);
            expectA += t.from === a.id ? -t.amount : t.amount;
            expectB += t.to === b.id ? t.amount : -t.amount;
            await expectStored(db, id!, t, `The transfer ${id} was answered ${res.status}.`, res);
            const now = await balances(db, [a.id, b.id]);
            expectThat(now.get(a.id) === expectA && now.get(b.id) === expectB, `After the transfer ${id}, the balances in \`accounts\` must have moved by the amount.`, {
              expected: show([{ id: a.id, balance: expectA }, { id: b.id, balance: expectB }]),
              received: show([{ id: a.id, balance: now.get(a.id) }, { id: b.id, balance: now.get(b.id) }]),
              res,
            });
          }
          await expectBalance(http, a.id, expectA, `GET /accounts/${a.id} must show the balance after the transfers.`);
          await expectBalance(http, b.id, expectB, `GET /accounts/${b.id} must show the balance after the transfers.`);
        },
      },
      {
        id: 'refusals',
        title: 'Refused transfers change nothing: 422 insufficient funds, 404 unknown account, 400 bad body',
        hint: 'Validate the body first (400); inside the transaction, a missing account is 404 and a balance below the amount is 422, and both end in ROLLBACK. A balance may reach exactly 0, never below.',
        async run(ctx) {
          const { http, random, db } = ctx;
          const c: Account = { id: accountId(random, 'carol'), balance: random.int(100, 900) };
          const d: Account = { id: accountId(random, 'dave'), balance: random.int(0, 500) };
          await seed(db, [c, d]);

          const tooMuch = { from: c.id, to: d.id, amount: c.balance + random.int(1, 1000) };
          let res = await http.post('/transfers', tooMuch);
          expectJson(res, 422, `POST /transfers ${JSON.stringify(tooMuch)}: ${c.id} has only ${c.balance}, so the answer is 422 (insufficient funds) with a JSON error.`);
          await expectUntouched(db, [c, d], 'A transfer refused for insufficient funds changes nothing.', res);

          const ghost = accountId(random, 'nobody');
          for (const t of [{ from: c.id, to: ghost, amount: 1 }, { from: ghost, to: c.id, amount: 1 }]) {
            res = await http.post('/transfers', t);
            expectJson(res, 404, `POST /transfers ${JSON.stringify(t)}: account ${ghost} does not exist, so the answer is 404 with a JSON error.`);
          }
          await expectUntouched(db, [c, d], 'A transfer with an unknown account changes nothing.', res);

          const bad: { body: string; why: string }[] = [
            { body: JSON.stringify({ from: c.id, to: d.id, amount: 0 }), why: 'an amount of 0' },
            { body: JSON.stringify({ from: c.id, to: d.id, amount: -random.int(1, 50) }), why: 'a negative amount' },
            { body: JSON.stringify({ from: c.id, to: d.id, amount: 1.5 }), why: 'an amount that is not a whole number of cents' },
            { body: JSON.stringify({ from: c.id, to: d.id, amount: '10' }), why: 'an amount that is a string' },
            { body: JSON.stringify({ from: c.id, amount: 10 }), why: 'no `to`' },
            { body: JSON.stringify({ from: c.id, to: c.id, amount: 10 }), why: '`from` and `to` the same account' },
            { body: `{"from": "${c.id}", "to": `, why: 'malformed JSON' },
          ];
          for (const b of bad) {
            res = await http.request('/transfers', { method: 'POST', body: b.body, headers: { 'Content-Type': 'application/json' } });
            expectJson(res, 400, `POST /transfers with ${b.why} must be refused with 400 Bad Request and a JSON error.`);
          }
          await expectUntouched(db, [c, d], 'A transfer with an invalid body changes nothing.', res);

          const all = { from: c.id, to: d.id, amount: c.balance };
          res = await http.post('/transfers', all);
          expectJson(res, [200, 201], `POST /transfers ${JSON.stringify(all)} moves the whole balance of ${c.id} (${c.balance}): a balance may reach exactly 0, so it must succeed.`);
          await waitQuiet(db);
          const now = await balances(db, [c.id, d.id]);
          expectThat(now.get(c.id) === 0 && now.get(d.id) === d.balance + c.balance, 'After moving the whole balance, the source is at 0 and the destination has it.', {
            expected: show([{ id: c.id, balance: 0 }, { id: d.id, balance: d.balance + c.balance }]),
            received: show([{ id: c.id, balance: now.get(c.id) }, { id: d.id, balance: now.get(d.id) }]),
            res,
          });
        },
      },
      {
        id: 'concurrent-transfers',
        title: '200 concurrent transfers: money conserved, no balance spent twice or below 0, ledger rows exactly for the 2xx',
        hint: 'Read and change balances under a row lock in the same transaction (SELECT ... FOR UPDATE, or UPDATE ... SET balance = balance - $1 WHERE balance >= $1), never "read, compute in code, write back": two transfers read the same balance and one update is lost.',
        timeoutMs: 150_000,
        async run(ctx) {
          const { random, db, note } = ctx;
          // Rich accounts can pay every one of their transfers in any order (at most 180 x 100 < 20 000), so
          // each of those must succeed; poor accounts can pay only one of their five, so at most one may.
          const rich: Account[] = Array.from({ length: 8 }, (_, i) => ({ id: accountId(random, `rich${i}`), balance: random.int(20_000, 30_000) }));
          const poor: Account[] = Array.from({ length: 2 }, (_, i) => ({ id: accountId(random, `poor${i}`), balance: random.int(100, 200) }));
          const accounts = [...rich, ...poor];
          await seed(db, accounts);
          const ids = accounts.map((a) => a.id);
          const richIds = rich.map((a) => a.id);
          const total = accounts.reduce((s, a) => s + a.balance, 0);
          const pair = () => random.shuffle(richIds).slice(0, 2);
          const affordable: TransferRequest[] = Array.from({ length: 180 }, () => {
            const [from, to] = pair();
            return { from, to, amount: random.int(1, 100) };
          });
          // More money than all the accounts together hold: refused whatever the order.
          const impossible: TransferRequest[] = Array.from({ length: 10 }, () => {
            const [from, to] = pair();
            return { from, to, amount: total + random.int(1, 1000) };
          });
          const contested: TransferRequest[] = poor.flatMap((a) =>
            Array.from({ length: 5 }, () => ({ from: a.id, to: random.pick(richIds), amount: random.int(Math.floor(a.balance / 2) + 1, a.balance) })),
          );
          const plan = random.shuffle([...affordable, ...impossible, ...contested]);

          // The grader locks the table first, so the transfers pile up on it and then run against each other
          // at the same moment when the lock goes: a read-then-write without a row lock loses updates (or
          // spends a poor account's money twice) every time.
          const locker = await db.connect();
          let outcomes: Outcome[] = [];
          try {
            await locker.query('BEGIN');
            await locker.query('LOCK TABLE accounts IN EXCLUSIVE MODE');
            note(`${plan.length} transfers at once, released together after the grader held a lock on \`accounts\``);
            const sent = Promise.all(plan.map((t) => send(ctx, t, 60_000)));
            await waitForWaiters(db, plan.length, 10_000);
            await locker.query('COMMIT');
            outcomes = await watchingLeaks(db, sent, `While ${plan.length} transfers were in flight,`);
          } finally {
            await locker.query('ROLLBACK').catch(() => {});
            locker.release();
          }
          await waitQuiet(db);
          const of = (list: TransferRequest[]) => outcomes.filter((o) => list.includes(o.request));

          const lost = outcomes.filter((o) => o.error);
          expectThat(lost.length === 0, `Every transfer must get an answer: ${lost.length} of ${plan.length} got none.`, { expected: `${plan.length} answers`, received: `${tally(outcomes)}\nfirst: ${describe(lost[0] ?? outcomes[0])}` });
          const stuck = outcomes.filter((o) => retryable(o.res!.status));
          expectThat(stuck.length === 0, `A 409/503 means "nothing happened, try again", and the grader tried again ${RETRIES} times: ${stuck.length} transfers never went through.`, {
            expected: 'a 2xx or a final refusal (422...) after a few retries',
            received: `${tally(outcomes)}\nfirst: ${describe(stuck[0])}`,
          });
          const overdrawn = of(impossible).filter((o) => is2xx(o.res!.status));
          expectThat(overdrawn.length === 0, `${overdrawn.length} transfer(s) of more money than all the accounts together hold were accepted: a balance went below 0.`, {
            expected: '422 for each of them',
            received: describe(overdrawn[0]),
            res: overdrawn[0]?.res,
          });
          for (const a of poor) {
            const spent = of(contested).filter((o) => o.request.from === a.id && is2xx(o.res!.status));
            expectThat(spent.length <= 1, `${a.id} held ${a.balance}; five transfers of more than half of that left it at the same moment, and ${spent.length} of them were accepted: its money was spent ${spent.length} times. Check the balance and debit it under one row lock (or with one guarded UPDATE).`, {
              expected: 'at most one 2xx, 422 for the others',
              received: of(contested).filter((o) => o.request.from === a.id).map(describe).join('\n'),
              res: spent[1]?.res,
            });
          }
          const refused = of(affordable).filter((o) => o.res!.status >= 400 && o.res!.status < 500);
          expectThat(refused.length === 0, `${refused.length} transfer(s) between the rich accounts were refused, though each of those accounts can pay all of its transfers in any order (every balance is at least 20 000, every amount at most 100). Concurrent transfers must wait for each other's row locks, not see a wrong balance.`, {
            expected: 'a 2xx for each of them',
            received: `${tally(of(affordable))}\nfirst: ${describe(refused[0])}`,
            res: refused[0]?.res,
          });
          const ok = outcomes.filter((o) => is2xx(o.res!.status));
          const done = of(affordable).filter((o) => is2xx(o.res!.status));
          expectThat(done.length >= affordable.length / 2, `Only ${done.length} of the ${affordable.length} transfers between the rich accounts succeeded: concurrent transfers must wait for each other (row locks), not fail.`, {
            expected: `at least ${affordable.length / 2} x 2xx (money is there for every one of them)`,
            received: `${tally(of(affordable))}\nfor example: ${describe(of(affordable).find((o) => !is2xx(o.res!.status)))}`,
          });
          const noId = ok.find((o) => o.id === undefined);
          expectThat(noId === undefined, 'Every 2xx must carry the transfer with its `id`.', { expected: '{"id": ..., "from": ..., "to": ..., "amount": ...}', res: noId?.res });

          const now = await balances(db, ids);
          const negative = accounts.filter((a) => (now.get(a.id) ?? 0) < 0);
          expectThat(negative.length === 0, 'No balance may go below 0, whatever the timing.', {
            expected: 'every balance >= 0',
            received: show(negative.map((a) => ({ id: a.id, balance: now.get(a.id) }))),
          });

          const { transfers, ledger } = await rowsFor(db, ids);
          const byId = new Map(ok.map((o) => [o.id!, o.request]));
          const stray = transfers.filter((t) => !byId.has(t.id));
          const missing = ok.filter((o) => !transfers.some((t) => t.id === o.id));
          expectThat(stray.length === 0 && missing.length === 0, `The table \`transfers\` must hold exactly one row per 2xx answer (${ok.length}): ${missing.length} answered 2xx have no row, ${stray.length} rows belong to no 2xx answer (a refused transfer left a row).`, {
            expected: `${ok.length} rows, the ids of the 2xx answers`,
            received: `${transfers.length} rows${missing[0] ? `\nno row for: ${describe(missing[0])}` : ''}${stray[0] ? `\nrow of no 2xx: ${show(stray[0])}` : ''}`,
          });
          const wrongRow = transfers.find((t) => {
            const r = byId.get(t.id)!;
            return t.from_account !== r.from || t.to_account !== r.to || Number(t.amount) !== r.amount;
          });
          expectThat(wrongRow === undefined, 'Each row of `transfers` must have the `from_account`, `to_account` and `amount` of its request.', {
            expected: wrongRow ? show(byId.get(wrongRow.id)) : '',
            received: show(wrongRow),
          });
          for (const [id, r] of byId) {
            const entries = ledger.filter((l) => l.transfer_id === id).map((l) => `${l.account_id} ${Number(l.amount)}`).sort();
            const want = [`${r.from} ${-r.amount}`, `${r.to} ${r.amount}`].sort();
            expectThat(JSON.stringify(entries) === JSON.stringify(want), `Transfer ${id} (${r.from} -> ${r.to}, ${r.amount}) must have exactly two ledger entries.`, {
              expected: want.join('\n'),
              received: entries.join('\n') || '(none)',
            });
          }
          const strayLedger = ledger.filter((l) => !byId.has(l.transfer_id));
          expectThat(strayLedger.length === 0, `${strayLedger.length} ledger entries belong to no transfer that was answered 2xx.`, { expected: 'none', received: show(strayLedger.slice(0, 5)) });

          const after = [...now.values()].reduce((s, b) => s + b, 0);
          expectThat(after === total, `Money was ${after > total ? 'created' : 'destroyed'}: the ${accounts.length} accounts held ${total} in total before the transfers and ${after} after. Two transfers read the same balance and one overwrote the other's update (a lost update).`, {
            expected: `total ${total}`,
            received: `total ${after}: ${show(accounts.map((a) => ({ id: a.id, before: a.balance, after: now.get(a.id) })))}`,
          });
          const drift = accounts.filter((a) => {
            const moved = ledger.filter((l) => l.account_id === a.id).reduce((s, l) => s + Number(l.amount), 0);
            return now.get(a.id) !== a.balance + moved;
          });
          expectThat(drift.length === 0, 'Each balance must equal its starting balance plus the sum of its ledger entries: an update was lost.', {
            expected: show(drift.map((a) => ({ id: a.id, balance: a.balance + ledger.filter((l) => l.account_id === a.id).reduce((s, l) => s + Number(l.amount), 0) }))),
            received: show(drift.map((a) => ({ id: a.id, balance: now.get(a.id) }))),
          });
          for (const a of accounts.slice(0, 3)) await expectBalance(ctx.http, a.id, now.get(a.id)!, `GET /accounts/${a.id} must show the balance the database has.`);
        },
      },
      {
        id: 'opposite-directions',
        title: 'A -> B and B -> A at the same moment both succeed: no deadlock',
        hint: 'Lock the two accounts in one fixed order whatever the direction (SELECT ... WHERE id IN (...) ORDER BY id FOR UPDATE), so A -> B and B -> A queue on the same row instead of each holding one and waiting for the other.',
        timeoutMs: 90_000,
        async run(ctx) {
          const { random, db, note } = ctx;
          const pairs = Array.from({ length: 5 }, (_, i) => [
            { id: accountId(random, `left${i}`), balance: random.int(5_000, 9_000) },
            { id: accountId(random, `right${i}`), balance: random.int(5_000, 9_000) },
          ]);
          const accounts = pairs.flat();
          await seed(db, accounts);
          const plan: TransferRequest[] = pairs.flatMap(([x, y]) => [
            { from: x.id, to: y.id, amount: random.int(1, 500) },
            { from: y.id, to: x.id, amount: random.int(1, 500) },
          ]);

          // The grader holds both rows of every pair, so each transfer stops at its first lock; when they go,
          // a transfer that locked its own `from` first now waits for the other's `from`: a deadlock.
          const locker = await db.connect();
          let outcomes: Outcome[] = [];
          try {
            await locker.query('BEGIN');
            await locker.query('SELECT id FROM accounts WHERE id::text = ANY($1::text[]) ORDER BY id FOR UPDATE', [accounts.map((a) => a.id)]);
            note(`${plan.length} transfers, each pair in both directions, released together`);
            const sent = Promise.all(plan.map((t) => send(ctx, t, 30_000)));
            await waitForWaiters(db, plan.length, 10_000);
            await locker.query('COMMIT');
            outcomes = await watchingLeaks(db, sent, `While ${plan.length} transfers were in flight,`);
          } finally {
            await locker.query('ROLLBACK').catch(() => {});
            locker.release();
          }
          await waitQuiet(db);

          const hung = outcomes.filter((o) => o.error);
          expectThat(hung.length === 0, `${hung.length} of the ${plan.length} transfers got no answer within 30 s: transfers in opposite directions are waiting for each other forever.`, {
            expected: `${plan.length} x 2xx`,
            received: `${tally(outcomes)}\nfirst: ${describe(hung[0] ?? outcomes[0])}`,
          });
          const failed = outcomes.filter((o) => !is2xx(o.res!.status));
          expectThat(failed.length === 0, `${failed.length} of the ${plan.length} transfers failed. Each pair of accounts had one transfer in each direction at the same moment: locking \`from\` then \`to\` makes them wait for each other, and PostgreSQL breaks the deadlock by aborting one (deadlock detected, SQLSTATE 40P01).`, {
            expected: `${plan.length} x 2xx (money is there for all of them)`,
            received: `${tally(outcomes)}\nfirst: ${describe(failed[0] ?? outcomes[0])}`,
            res: failed[0]?.res,
          });
          const noId = outcomes.find((o) => o.id === undefined);
          expectThat(noId === undefined, 'Every 2xx must carry the transfer with its `id`.', { expected: '{"id": ..., "from": ..., "to": ..., "amount": ...}', res: noId?.res });
          const { transfers } = await rowsFor(db, accounts.map((a) => a.id));
          const missing = outcomes.filter((o) => !transfers.some((t) => t.id === o.id));
          expectThat(missing.length === 0, `${missing.length} transfers answered 2xx have no row in \`transfers\`.`, { expected: `${plan.length} rows`, received: `${transfers.length} rows; first missing: ${describe(missing[0] ?? outcomes[0])}` });
        },
      },
      {
        id: 'all-or-nothing',
        title: 'A transfer whose credit fails leaves nothing behind: the debit is rolled back',
        hint: 'Run every statement of a transfer on ONE connection between BEGIN and COMMIT, and ROLLBACK when any of them fails; then answer 500. Separate pool.query() calls are separate transactions: the debit stays when the credit fails.',
        timeoutMs: 60_000,
        async run(ctx) {
          const { http, random, db, note } = ctx;
          const tag = random.string(8, 'abcdefghijklmnopqrstuvwxyz');
          const mk = (label: string): Account => ({ id: accountId(random, label), balance: random.int(1_000, 5_000) });
          const scenarios = [
            { what: 'the credit (UPDATE of the destination balance)', from: mk('payer'), to: mk('payee') },
            { what: 'the debit (UPDATE of the source balance)', from: mk('payer'), to: mk('payee') },
            { what: 'the ledger entry of the credit (INSERT INTO ledger_entries)', from: mk('payer'), to: mk('payee') },
          ];
          await seed(db, scenarios.flatMap((s) => [s.from, s.to]));
          const [credit, debit, entry] = scenarios;
          const accountsFn = `labs_fail_balance_${tag}`;
          const ledgerFn = `labs_fail_entry_${tag}`;
          // The grader's triggers make exactly one statement of each transfer fail, wherever it comes in the
          // transaction, so every order of statements is covered by one of the three.
          const install = [
            `CREATE FUNCTION ${accountsFn}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN
               IF NEW.id::text = ${quoteLiteral(credit.to.id)} AND NEW.balance > OLD.balance THEN RAISE EXCEPTION 'backend-labs grader: this credit fails on purpose'; END IF;
               IF NEW.id::text = ${quoteLiteral(debit.from.id)} AND NEW.balance < OLD.balance THEN RAISE EXCEPTION 'backend-labs grader: this debit fails on purpose'; END IF;
               RETURN NEW; END $fn$`,
            `CREATE TRIGGER ${accountsFn} BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION ${accountsFn}()`,
            `CREATE FUNCTION ${ledgerFn}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN
               IF NEW.account_id::text = ${quoteLiteral(entry.to.id)} AND NEW.amount > 0 THEN RAISE EXCEPTION 'backend-labs grader: this ledger entry fails on purpose'; END IF;
               RETURN NEW; END $fn$`,
            `CREATE TRIGGER ${ledgerFn} BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ${ledgerFn}()`,
          ];
          try {
            for (const statement of install) await sql(db, statement, [], 'The grader installs a trigger that makes one statement of a transfer fail.');
            for (const s of scenarios) {
              const t = { from: s.from.id, to: s.to.id, amount: random.int(1, s.from.balance) };
              note(`${s.from.id} -> ${s.to.id}: the database refuses ${s.what}`);
              const res = await http.post('/transfers', t);
              expectThat(res.status >= 500 && res.status < 600, `POST /transfers ${JSON.stringify(t)}: the grader made PostgreSQL refuse ${s.what} (a trigger raises an error), so the transfer cannot happen and the answer must be a 5xx (500).`, {
                expected: 'HTTP 500 (the transaction rolled back)',
                res,
              });
              await waitQuiet(db);
              await expectUntouched(db, [s.from, s.to], `PostgreSQL refused ${s.what} of ${t.from} -> ${t.to}: the whole transfer must be rolled back.`, res);
            }
          } finally {
            await dropAll(db, [
              `DROP TRIGGER IF EXISTS ${accountsFn} ON accounts`,
              `DROP TRIGGER IF EXISTS ${ledgerFn} ON ledger_entries`,
              `DROP FUNCTION IF EXISTS ${accountsFn}()`,
              `DROP FUNCTION IF EXISTS ${ledgerFn}()`,
            ]);
          }
          const t = { from: credit.from.id, to: credit.to.id, amount: 1 };
          const res = await http.post('/transfers', t);
          expectJson(res, [200, 201], `With the grader's triggers gone, POST /transfers ${JSON.stringify(t)} must succeed again.`);
        },
      },
      {
        id: 'durable-after-kill',
        title: 'A transfer answered 2xx survives kill -9 right after the answer',
        hint: 'Answer only after COMMIT has returned (await it): a 2xx promises the transfer is in the database. Never answer first and commit afterwards.',
        timeoutMs: 90_000,
        async run(ctx) {
          const { http, random, db, server, note } = ctx;
          const x: Account = { id: accountId(random, 'saver'), balance: random.int(2_000, 9_000) };
          const y: Account = { id: accountId(random, 'shop'), balance: random.int(0, 1_000) };
          await seed(db, [x, y]);
          const t = { from: x.id, to: y.id, amount: random.int(1, x.balance) };
          const key = random.int(1, 2_000_000_000);
          const fn = `labs_hold_commit_${random.string(8, 'abcdefghijklmnopqrstuvwxyz')}`;
          // A deferred trigger makes this transfer's COMMIT wait for an advisory lock the grader holds, so the
          // transaction is caught between "all statements done" and "committed" for as long as the grader likes.
          await sql(db, `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN
                           IF NEW.from_account::text = ${quoteLiteral(x.id)} THEN PERFORM pg_advisory_xact_lock_shared(${key}); END IF;
                           RETURN NULL; END $fn$`, [], 'The grader installs a trigger that holds the commit of one transfer.');
          const holder = await db.connect();
          let res: HttpResponse | undefined;
          let answeredEarly = false;
          const heldBy = async () =>
            (await db.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND NOT granted`, [key])).rows.map((r) => r.pid);
          try {
            await sql(db, `CREATE CONSTRAINT TRIGGER ${fn} AFTER INSERT ON transfers DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${fn}()`, [], 'The grader installs a trigger that holds the commit of one transfer.');
            await holder.query('SELECT pg_advisory_lock($1)', [key]);
            note('one transfer, its COMMIT held by the grader for a moment');
            let settled: { res?: HttpResponse; err?: unknown } | undefined;
            const sent = http.post('/transfers', t, { timeoutMs: 30_000 }).then(
              (r) => (settled = { res: r }),
              (err) => (settled = { err }),
            );
            // Until the commit is held (or an answer comes first).
            const deadline = performance.now() + 20_000;
            let held = false;
            while (!settled && !held && performance.now() < deadline) {
              held = (await heldBy()).length > 0;
              if (!held) await new Promise((r) => setTimeout(r, 20));
            }
            // The commit is held: an answer that still comes now was sent before the transaction committed.
            // (Only a server that answers early is given this moment; a correct one cannot answer yet.)
            if (held && !settled) await Promise.race([sent, ctx.sleep(1500)]);
            if (!settled) {
              await holder.query('SELECT pg_advisory_unlock($1)', [key]);
              await sent;
            }
            if (settled!.err) throw settled!.err;
            res = settled!.res!;
            expectJson(res, [200, 201], `POST /transfers ${JSON.stringify(t)}: the source has enough money, so the transfer must succeed.`);
            note('kill -9 right after the answer');
            await server.kill('SIGKILL');
            // The process is gone, and with it its connections. A transaction still waiting for its commit
            // (only possible if the server answered before committing) dies with them: once every connection
            // left is one of those, the grader ends them, as a crashed machine would.
            const until = performance.now() + 10_000;
            while (performance.now() < until) {
              const { rows } = await db.query<{ n: number; waiting: number }>(
                `SELECT count(*)::int AS n, count(*) FILTER (WHERE wait_event = 'advisory')::int AS waiting ${SERVER_BACKENDS}`,
              );
              if (rows[0].n === rows[0].waiting) break;
              await new Promise((r) => setTimeout(r, 20));
            }
            const ended = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND NOT granted`, [key]);
            answeredEarly = (ended.rowCount ?? 0) > 0;
          } finally {
            await holder.query('SELECT pg_advisory_unlock_all()').catch(() => {});
            holder.release();
            await dropAll(db, [`DROP TRIGGER IF EXISTS ${fn} ON transfers`, `DROP FUNCTION IF EXISTS ${fn}()`]);
          }
          note('restarting your server');
          await server.restart();
          const id = idOf(parseJson(res));
          expectThat(id !== undefined, 'The answer must be the transfer with its `id`.', { expected: show({ id: '(the new id)', ...t }), res });
          const early = answeredEarly ? ' Your server answered while the transaction was still waiting to commit (the grader held the COMMIT), so the process died before the commit.' : '';
          await expectStored(db, id!, t, `The transfer ${id} was answered ${res.status}, then the server was killed (SIGKILL) and restarted: it must still be there.${early}`, res);
          const now = await balances(db, [x.id, y.id]);
          expectThat(now.get(x.id) === x.balance - t.amount && now.get(y.id) === y.balance + t.amount, `After kill -9 and a restart, the balances must include the transfer ${id} that was answered ${res.status}.${early}`, {
            expected: show([{ id: x.id, balance: x.balance - t.amount }, { id: y.id, balance: y.balance + t.amount }]),
            received: show([{ id: x.id, balance: now.get(x.id) }, { id: y.id, balance: now.get(y.id) }]),
            res,
          });
          await expectBalance(http, x.id, x.balance - t.amount, `After the restart, GET /accounts/${x.id} must show the balance after transfer ${id}.`);
        },
      },
    ],
  },
  import.meta.dirname,
);
