import {
  burstOnLock,
  defineLab,
  describeTiming,
  expectJson,
  expectThat,
  HARD,
  learnerSql,
  mixHard,
  show,
  sized,
  type CheckContext,
  type HttpProbe,
  type HttpResponse,
  type Random,
} from '../../grader/index.ts';

const LEADERBOARD = 'leaderboard';
const UPDATES = 200;
const TTL_MAX = 300;

type Db = CheckContext['db'];

// --- helpers ---------------------------------------------------------------------------------------------

async function sql<T extends Record<string, unknown>>(db: Db, text: string, params: unknown[] = [], why = 'The grader reads your tables directly.'): Promise<T[]> {
  return learnerSql<T>(db, text, params, { why, hint: 'Create the tables at startup as the README says: players (id, handle UNIQUE), orders (id, player_id REFERENCES players, order_ref UNIQUE, sku, quantity CHECK 1..1000).', sqlErrorsOnly: true });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const sameId = (a: unknown, b: unknown) => (typeof a === 'number' || typeof a === 'string') && String(a) === String(b);

function handleOf(random: Random): string {
  return `${random.word()}_${random.string(6)}`;
}

async function createPlayer(http: HttpProbe, random: Random, handle = handleOf(random)): Promise<{ id: number; handle: string }> {
  const res = await http.post('/players', { handle });
  const body = expectJson(res, 201, 'POST /players with a new handle must answer 201 Created with the player.');
  expectThat(isObject(body) && typeof body.id === 'number' && body.handle === handle, 'The created player must be `{"id": <number>, "handle"}` with exactly the handle sent.', {
    expected: show({ id: '(new id)', handle }),
    res,
  });
  return { id: body.id as number, handle };
}

interface OrderIn {
  player_id: unknown;
  order_ref: string;
  sku: string;
  quantity: unknown;
}

async function createOrder(http: HttpProbe, order: OrderIn): Promise<number> {
  const res = await http.post('/orders', order);
  const body = expectJson(res, 201, 'POST /orders for an existing player with a new order_ref must answer 201 Created with the order.');
  const ok = isObject(body) && typeof body.id === 'number' && sameId(body.player_id, order.player_id) && body.order_ref === order.order_ref && body.sku === order.sku && body.quantity === order.quantity;
  expectThat(ok, 'The created order must be `{"id", "player_id", "order_ref", "sku", "quantity"}` with exactly the values sent.', { expected: show({ id: '(new id)', ...order }), res });
  return (body as { id: number }).id;
}

const orderOf = (random: Random, playerId: number, quantity = random.int(1, 20)): OrderIn => ({ player_id: playerId, order_ref: `ord-${random.string(10)}`, sku: `SKU-${random.string(5).toUpperCase()}`, quantity });

async function addScore(http: HttpProbe, playerId: number, points: number): Promise<{ res: HttpResponse; score: unknown }> {
  const res = await http.post(`/players/${playerId}/score`, { points });
  const body = expectJson(res, 200, `POST /players/${playerId}/score with {"points": ${points}} must answer 200 with the new score.`);
  expectThat(isObject(body) && sameId(body.player_id, playerId) && typeof body.score === 'number', 'The answer must be `{"player_id", "score": <number>}`.', { expected: `{"player_id": ${playerId}, "score": <the new total>}`, res });
  return { res, score: (body as { score: number }).score };
}

interface Leader {
  rank: number;
  player_id: number;
  handle: string | null;
  score: number;
}

/** The expected top `limit`: score descending, then player id ascending. */
function expectedTop(scores: Map<number, number>, handles: Map<number, string>, limit: number): Leader[] {
  return [...scores]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, limit)
    .map(([id, score], i) => ({ rank: i + 1, player_id: id, handle: handles.get(id) ?? null, score }));
}

/** Every member of the leaderboard and its score, as the grader reads them in Redis. */
async function redisScores(ctx: CheckContext): Promise<Map<number, number>> {
  const flat = await ctx.redis.zrange(LEADERBOARD, 0, -1, 'WITHSCORES');
  const out = new Map<number, number>();
  for (let i = 0; i < flat.length; i += 2) out.set(Number(flat[i]), Number(flat[i + 1]));
  return out;
}

async function handlesOf(db: Db, ids: number[]): Promise<Map<number, string>> {
  const rows = await sql<{ id: number; handle: string }>(db, 'SELECT id, handle FROM players WHERE id = ANY($1::int[])', [ids]);
  return new Map(rows.map((r) => [Number(r.id), r.handle]));
}

function leadersProblem(got: unknown, want: Leader[]): string | undefined {
  if (!isObject(got) || !Array.isArray(got.leaders)) return 'the body must be `{"leaders": [...]}`';
  const ls = got.leaders as unknown[];
  const line = (l: unknown) => (isObject(l) ? `#${l.rank} player ${l.player_id} (${l.score})` : show(l));
  const wantLine = (l: Leader) => `#${l.rank} player ${l.player_id} (${l.score})`;
  if (ls.length !== want.length) return `expected ${want.length} leader(s), got ${ls.length}`;
  for (let i = 0; i < want.length; i++) {
    const l = ls[i];
    const w = want[i];
    if (!isObject(l) || l.rank !== w.rank || !sameId(l.player_id, w.player_id) || l.score !== w.score) {
      const tie = want.some((x, j) => j !== i && x.score === w.score);
      return `position ${i + 1}: expected ${wantLine(w)}, got ${line(l)}${tie && isObject(l) && l.score === w.score ? ' (equal scores: the smaller player_id comes first; Redis orders ties by member as text, in reverse with ZREVRANGE)' : ''}`;
    }
    if (l.handle !== w.handle) return `position ${i + 1}: the handle of player ${w.player_id} is ${show(w.handle)} (in PostgreSQL), got ${show(l.handle)}`;
  }
  return undefined;
}

async function expectLeaders(ctx: CheckContext, want: Leader[], limit: number | undefined, why: string): Promise<void> {
  const path = limit === undefined ? '/leaderboard' : `/leaderboard?limit=${limit}`;
  const res = await ctx.http.get(path);
  const got = expectJson(res, 200, `GET ${path} must answer 200 with the leaders.`);
  const problem = leadersProblem(got, want);
  if (problem) res.fail(`${why} GET ${path}: ${problem}.`, show(want), show(isObject(got) ? got.leaders : got));
}

/** Scan every key of the run's Redis database with its TTL (seconds; -1 none). */
async function keysWithTtl(ctx: CheckContext): Promise<{ key: string; ttl: number; type: string }[]> {
  const out: { key: string; ttl: number; type: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await ctx.redis.scan(cursor, 'COUNT', 200);
    cursor = next;
    for (const key of keys) out.push({ key, ttl: await ctx.redis.ttl(key), type: await ctx.redis.type(key) });
  } while (cursor !== '0');
  return out;
}

async function summaryOf(http: HttpProbe, playerId: number): Promise<{ res: HttpResponse; body: Record<string, unknown> }> {
  const res = await http.get(`/players/${playerId}/summary`);
  const body = expectJson(res, 200, `GET /players/${playerId}/summary must answer 200 with the player's order summary.`);
  expectThat(isObject(body), 'The summary must be a JSON object `{"player_id", "orders", "total_quantity"}`.', { res });
  return { res, body };
}

/** Inserts a row as the grader and returns the SQLSTATE PostgreSQL answered (undefined: it was accepted). */
async function tryInsert(db: Db, text: string, params: unknown[]): Promise<{ code?: string; message?: string }> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query(text, params);
    return {};
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

// --- the lab ---------------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'polyglot-persistence',
    title: 'Polyglot persistence: orders in PostgreSQL, a leaderboard in Redis',
    track: 'data',
    summary:
      'Two stores for two jobs: orders in PostgreSQL with the rules declared in the schema (the grader writes conflicting rows itself), a live leaderboard in a Redis sorted set that stays exact under 200 simultaneous updates, ties ordered by the contract, and cache-only data that always expires.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [29],
    services: ['postgres', 'redis'],
    checks: [
      {
        id: 'players-and-orders',
        title: 'Players and orders are rows in PostgreSQL: 201 with the row, 400 for invalid input, text stored verbatim',
        hint: 'INSERT ... RETURNING with parameters; validate quantity (an integer from 1 to 1000: `true`, `"5"`, `1.5` are 400) and the strings before the database.',
        // Many sequential requests: generous on a loaded machine (a ceiling, not a budget).
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random, db } = ctx;
          const handles = [random.pick(HARD.unicode), random.pick(HARD.injection), "o'neil"].map((h) => `${h} ${random.string(4)}`);
          const players: { id: number; handle: string }[] = [];
          for (const h of handles) players.push(await createPlayer(http, random, h));
          const rows = await sql<{ handle: string }>(db, 'SELECT handle FROM players WHERE id = ANY($1::int[]) ORDER BY id', [players.map((p) => p.id)]);
          expectThat(rows.map((r) => r.handle).join('\n') === handles.join('\n'), 'Each player must be a row of `players` with the handle exactly as sent.', { expected: show(handles), received: show(rows.map((r) => r.handle)) });
          const made: OrderIn[] = [];
          for (let i = 0; i < 3; i++) {
            const o = { ...orderOf(random, players[0].id), sku: `${random.pick([...HARD.injection, ...HARD.unicode, ...HARD.likeMeta])}` };
            await createOrder(http, o);
            made.push(o);
          }
          const res = await http.get(`/players/${players[0].id}/orders`);
          const got = expectJson(res, 200, `GET /players/${players[0].id}/orders must answer 200 with the player's orders.`);
          const list = isObject(got) && Array.isArray(got.orders) ? (got.orders as Record<string, unknown>[]) : undefined;
          expectThat(list !== undefined && list.length === 3 && list.every((o, i) => isObject(o) && o.order_ref === made[i].order_ref && o.sku === made[i].sku && o.quantity === made[i].quantity), 'GET /players/{id}/orders lists the player\'s orders, oldest first, with exactly the values sent.', {
            expected: show(made),
            res,
          });
          const inDb = await sql<{ n: number }>(db, 'SELECT count(*)::int AS n FROM orders WHERE player_id = $1', [players[0].id]);
          expectThat(inDb[0].n === 3, 'The orders must be rows of `orders`.', { expected: '3 rows', received: `${inDb[0].n}` });

          const quantities = mixHard(random, 6, [...HARD.notIntegers, 0, 1001, -1], (r) => r.int(1001, 5000));
          for (const q of quantities) {
            const bad = await http.post('/orders', { ...orderOf(random, players[1].id), quantity: q });
            expectJson(bad, 400, `POST /orders with quantity ${show(q)} must answer 400: quantity is an integer from 1 to 1000.`);
          }
          for (const body of [{ ...orderOf(random, players[1].id), order_ref: ' ' }, { ...orderOf(random, players[1].id), sku: '' }, { ...orderOf(random, players[1].id), player_id: true }, { handle: sized(51) }]) {
            const path = 'handle' in body ? '/players' : '/orders';
            expectJson(await http.post(path, body), 400, `POST ${path} with ${show(body).replace(/\s+/g, ' ').slice(0, 120)} must answer 400.`);
          }
          const none = await sql<{ n: number }>(db, 'SELECT count(*)::int AS n FROM orders WHERE player_id = $1', [players[1].id]);
          expectThat(none[0].n === 0, 'Nothing may be stored for a 400.', { expected: '0 orders', received: `${none[0].n}` });
          await createOrder(http, orderOf(random, players[1].id, 1000));
          await createPlayer(http, random, sized(50, 'h') + random.string(0));
          expectJson(await http.get('/players/abc/orders'), 404, 'GET /players/abc/orders: no player has that id, so 404.');
        },
      },
      {
        id: 'api-conflicts',
        title: 'Through the API: a duplicate is 409 (also 10 at the same moment), an unknown player 422, never 500',
        hint: 'Let the UNIQUE and REFERENCES constraints decide and map SQLSTATE 23505 to 409, 23503 to 422. A SELECT before the INSERT cannot stop ten requests at once.',
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random, db, note } = ctx;
          const p = await createPlayer(http, random);
          expectJson(await http.post('/players', { handle: p.handle }), 409, `POST /players with a handle that exists (${p.handle}) must answer 409.`);
          const first = orderOf(random, p.id);
          await createOrder(http, first);
          expectJson(await http.post('/orders', { ...first, sku: 'OTHER' }), 409, `POST /orders with an order_ref that exists (${first.order_ref}) must answer 409.`);
          const [{ n: ghost }] = await sql<{ n: number }>(db, 'SELECT coalesce(max(id), 0)::int + 100000 AS n FROM players');
          const orphan = await http.post('/orders', orderOf(random, ghost));
          expectJson(orphan, 422, `POST /orders with player_id ${ghost} (no such player) must answer 422: the foreign key rejects it; a 500 means the database error was not mapped.`);

          const ref = `ord-${random.string(12)}`;
          let timing = '';
          // SHARE: SELECTs pass, INSERTs wait, so the 10 requests meet in the database. Until all 10 wait on the lock
          // (a pool smaller than 10 holds the rest back: then until the count has not grown for 2.5 s), at most 10 s:
          // a loaded machine may take a while to get every request there.
          const results = await burstOnLock(
            db,
            { table: 'orders', mode: 'SHARE' },
            () =>
              http.simultaneous(10, () => ({ path: '/orders', method: 'POST', json: { player_id: p.id, order_ref: ref, sku: 'SAME', quantity: 1 }, timeoutMs: 20_000 })).then((r) => {
                timing = describeTiming(r.timing);
                note(timing);
                return r.responses;
              }),
            { want: 10, quietMs: 2500, maxMs: 10_000 },
          );
          const statuses = results.map((r) => (r.status === 'fulfilled' ? String(r.value.status) : 'no response'));
          const tally = [...new Set(statuses)].map((s) => `${statuses.filter((x) => x === s).length} x ${s}`).join(', ');
          const rows = (await sql<{ n: number }>(db, 'SELECT count(*)::int AS n FROM orders WHERE order_ref = $1', [ref]))[0].n;
          expectThat(statuses.filter((s) => s === '201').length === 1 && statuses.filter((s) => s === '409').length === 9 && rows === 1, `10 POST /orders with the same new order_ref at the same moment must give one 201, nine 409 and one row.${rows > 1 ? ' Several rows: order_ref is not UNIQUE in the table, and a check in the application cannot see the other requests.' : ''}`, {
            expected: '1 x 201, 9 x 409; 1 row',
            received: `${tally}; ${rows} row(s) with order_ref ${ref}\nTiming: ${timing}`,
          });
        },
      },
      {
        id: 'database-constraints',
        title: 'PostgreSQL itself rejects what the rules forbid: the grader inserts conflicting rows directly',
        hint: 'Declare the rules in the schema: handle UNIQUE, order_ref UNIQUE, player_id REFERENCES players, CHECK (quantity BETWEEN 1 AND 1000), NOT NULL. Every writer (a script, another service, psql) meets them; code in your server only guards your server.',
        // Many sequential requests: generous on a loaded machine (a ceiling, not a budget).
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random, db } = ctx;
          const p = await createPlayer(http, random);
          const o = orderOf(random, p.id);
          await createOrder(http, o);
          const [{ n: ghost }] = await sql<{ n: number }>(db, 'SELECT coalesce(max(id), 0)::int + 100000 AS n FROM players');
          const cases: { what: string; sql: string; params: unknown[]; want: string; name: string }[] = [
            { what: 'a second order with the same order_ref', sql: 'INSERT INTO orders (player_id, order_ref, sku, quantity) VALUES ($1, $2, $3, 1)', params: [p.id, o.order_ref, 'X'], want: '23505', name: 'unique_violation' },
            { what: 'a second player with the same handle', sql: 'INSERT INTO players (handle) VALUES ($1)', params: [p.handle], want: '23505', name: 'unique_violation' },
            { what: `an order for player ${ghost}, who does not exist`, sql: 'INSERT INTO orders (player_id, order_ref, sku, quantity) VALUES ($1, $2, $3, 1)', params: [ghost, `ord-${random.string(10)}`, 'X'], want: '23503', name: 'foreign_key_violation' },
            ...[0, -5, 1001].map((q) => ({ what: `an order with quantity ${q}`, sql: 'INSERT INTO orders (player_id, order_ref, sku, quantity) VALUES ($1, $2, $3, $4)', params: [p.id, `ord-${random.string(10)}`, 'X', q], want: '23514', name: 'check_violation' })),
            { what: 'an order without a sku', sql: 'INSERT INTO orders (player_id, order_ref, sku, quantity) VALUES ($1, $2, NULL, 1)', params: [p.id, `ord-${random.string(10)}`], want: '23502', name: 'not_null_violation' },
          ];
          for (const c of cases) {
            const got = await tryInsert(db, c.sql, c.params);
            expectThat(got.code === c.want, `The grader inserted ${c.what} straight into PostgreSQL (in a transaction it rolls back) and ${got.code ? `got ${got.code} (${got.message})` : 'the database accepted it'}. The rule lives only in your application code: declare it in the schema, so that PostgreSQL rejects it whoever writes.`, {
              expected: `ERROR ${c.want} ${c.name}`,
              received: `${got.code ? `ERROR ${got.code} ${got.message}` : 'INSERT 0 1 (accepted)'}\n${c.sql}\nwith ${show(c.params)}`,
            });
          }
        },
      },
      {
        id: 'leaderboard',
        title: 'The leaderboard is the Redis sorted set `leaderboard`: scores add up, GET /leaderboard shows the top N with handles',
        hint: 'ZINCRBY leaderboard <points> <player id>; read with ZREVRANGE ... WITHSCORES and the handles from PostgreSQL in one query. Keep no copy in memory: the grader changes the set itself.',
        // Many sequential requests: generous on a loaded machine (a ceiling, not a budget).
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random, db } = ctx;
          const players: { id: number; handle: string }[] = [];
          for (let i = 0; i < 5; i++) players.push(await createPlayer(http, random));
          const totals = new Map<number, number>();
          for (let i = 0; i < 12; i++) {
            const p = random.pick(players);
            const pts = random.int(1, 1000);
            const want = (totals.get(p.id) ?? 0) + pts;
            totals.set(p.id, want);
            const { res, score } = await addScore(http, p.id, pts);
            expectThat(score === want, `POST /players/${p.id}/score adds the points to the player's score: ${want - pts} + ${pts} = ${want}.${score === pts ? ' The score was replaced by the points (ZADD sets a score; ZINCRBY adds to it).' : ''}`, { expected: `"score": ${want}`, received: `"score": ${show(score)}`, res });
            const inRedis = await ctx.redis.zscore(LEADERBOARD, String(p.id));
            expectThat(Number(inRedis) === want, `The score must live in the Redis sorted set \`${LEADERBOARD}\`, member "${p.id}" (the player id as text).`, { expected: `ZSCORE ${LEADERBOARD} ${p.id} = ${want}`, received: `${inRedis ?? '(nil)'}` });
          }
          // Distinct totals here (ties have their own check).
          for (let guard = 0; guard < 20; guard++) {
            const seen = new Map<number, number>();
            const tied = [...totals].find(([id, t]) => (seen.has(t) ? true : (seen.set(t, id), false)));
            if (!tied) break;
            totals.set(tied[0], tied[1] + 1);
            await addScore(http, tied[0], 1);
          }
          // The grader changes the set itself: the leaderboard is read from Redis, not from a copy.
          const bumped = random.pick(players);
          await ctx.redis.zincrby(LEADERBOARD, 5000, String(bumped.id));
          totals.set(bumped.id, (totals.get(bumped.id) ?? 0) + 5000);
          const scores = await redisScores(ctx);
          const handles = await handlesOf(db, [...scores.keys()]);
          await expectLeaders(ctx, expectedTop(scores, handles, 3), 3, `The grader added 5000 to player ${bumped.id} with ZINCRBY in Redis: the top 3 must show it.`);
          await expectLeaders(ctx, expectedTop(scores, handles, 10), undefined, 'Without limit, the top 10.');
          for (const bad of ['0', '101', 'x', '-2', '2.5']) expectJson(await http.get(`/leaderboard?limit=${bad}`), 400, `GET /leaderboard?limit=${bad}: limit is an integer from 1 to 100.`);
          for (const pts of mixHard(random, 4, [true, '5', 1.5, 0, 1001, -3, null], (r) => -r.int(1, 99))) {
            expectJson(await http.post(`/players/${players[0].id}/score`, { points: pts }), 400, `POST /players/{id}/score with points ${show(pts)}: points is an integer from 1 to 1000, else 400.`);
          }
          const [{ n: ghost }] = await sql<{ n: number }>(db, 'SELECT coalesce(max(id), 0)::int + 100000 AS n FROM players');
          expectJson(await http.post(`/players/${ghost}/score`, { points: 5 }), 404, `POST /players/${ghost}/score: no such player in PostgreSQL, so 404.`);
          expectThat((await ctx.redis.zscore(LEADERBOARD, String(ghost))) === null, 'A player that does not exist must not enter the leaderboard.', { expected: '(nil)' });
        },
      },
      {
        id: 'leaderboard-ties',
        title: 'Equal scores: the smaller player id ranks first, also across the cut-off of `limit`',
        hint: 'ZREVRANGE orders equal scores by member in reverse text order ("12" before "11"). Take the top N, fetch every member tied with the last (ZRANGEBYSCORE s s), and order ties by id.',
        // Many sequential requests: generous on a loaded machine (a ceiling, not a budget).
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random, db } = ctx;
          const players: { id: number; handle: string }[] = [];
          for (let i = 0; i < 6; i++) players.push(await createPlayer(http, random));
          // Scores in thousands above every other test's: these players are the top of the board.
          const high = 100_000 + random.int(0, 50) * 1000;
          const plan = [high + 7000, high, high, high, high, high - 3000]; // five tied at `high`
          const order = random.shuffle(players.map((p, i) => ({ p, total: plan[i] })));
          for (const { p, total } of order) {
            await ctx.redis.zincrby(LEADERBOARD, total - 1, String(p.id));
            await addScore(http, p.id, 1);
          }
          const scores = await redisScores(ctx);
          const handles = await handlesOf(db, [...scores.keys()]);
          for (const limit of [5, 3, 6]) {
            await expectLeaders(ctx, expectedTop(scores, handles, limit), limit, `Five players share the score ${high}: they rank by player id, smallest first.`);
          }
        },
      },
      {
        id: 'concurrent-scores',
        title: `${UPDATES} score updates at the same moment: none lost`,
        hint: 'Read, add in the application and write back (ZSCORE then ZADD, GET then SET) loses updates when requests interleave. Let Redis add atomically: ZINCRBY.',
        timeoutMs: 60_000,
        async run(ctx) {
          const { http, random, note } = ctx;
          const players: { id: number; handle: string }[] = [];
          for (let i = 0; i < 4; i++) players.push(await createPlayer(http, random));
          const plan = Array.from({ length: UPDATES }, () => ({ p: random.pick(players), points: random.int(1, 50) }));
          const want = new Map<number, number>(players.map((p) => [p.id, 0]));
          for (const u of plan) want.set(u.p.id, want.get(u.p.id)! + u.points);
          const { responses, timing } = await http.simultaneous(UPDATES, (i) => ({ path: `/players/${plan[i].p.id}/score`, method: 'POST', json: { points: plan[i].points }, timeoutMs: 30_000 }));
          note(describeTiming(timing));
          const bad = responses.filter((r) => r.status === 'rejected' || r.value.status !== 200);
          expectThat(bad.length === 0, `All ${UPDATES} simultaneous POST /players/{id}/score must answer 200: ${bad.length} did not.`, {
            expected: `${UPDATES} x 200`,
            received: bad[0] ? (bad[0].status === 'rejected' ? String((bad[0].reason as Error)?.message) : `${bad[0].value.status} ${bad[0].value.text.slice(0, 200)}`) : undefined,
          });
          const lines: string[] = [];
          let lost = 0;
          for (const p of players) {
            const got = Number(await ctx.redis.zscore(LEADERBOARD, String(p.id)));
            lines.push(`player ${p.id}: ${plan.filter((u) => u.p.id === p.id).length} updates, expected ${want.get(p.id)}, Redis has ${got}`);
            lost += want.get(p.id)! - got;
          }
          expectThat(lost === 0, `After ${UPDATES} simultaneous score updates, ${lost} point(s) are missing: updates were lost. Two requests read the same old score, each added its points and wrote back, and the second write erased the first.`, {
            expected: 'every player\'s score = the sum of the points sent for it',
            received: `${lines.join('\n')}\nTiming: ${describeTiming(timing)}`,
          });
        },
      },
      {
        id: 'cache-ttl',
        title: 'Cache-only data expires: every Redis key but `leaderboard` has a TTL of at most 300 s; the leaderboard has none',
        hint: 'SET key value EX 60 (or EXPIRE right after): a cache entry without a TTL stays forever, stale and using memory. The leaderboard is data, not cache: never EXPIRE it.',
        // Many sequential requests: generous on a loaded machine (a ceiling, not a budget).
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random } = ctx;
          const before = new Set((await keysWithTtl(ctx)).map((k) => k.key));
          const p = await createPlayer(http, random);
          await createOrder(http, orderOf(random, p.id, 3));
          await addScore(http, p.id, 10);
          const { body, res } = await summaryOf(http, p.id);
          expectThat(sameId(body.player_id, p.id) && body.orders === 1 && body.total_quantity === 3, 'The summary of a player with one order of quantity 3.', { expected: show({ player_id: p.id, orders: 1, total_quantity: 3 }), res });
          await summaryOf(http, p.id);
          const keys = await keysWithTtl(ctx);
          const added = keys.filter((k) => !before.has(k.key) && k.key !== LEADERBOARD);
          expectThat(added.length > 0, `GET /players/${p.id}/summary must be cached in the Redis database of REDIS_URL: no key appeared there while the grader created the player, an order and read the summary twice.`, { expected: 'a new key (e.g. cache:player:<id>:summary) with a TTL', received: show(keys.map((k) => k.key)) });
          const forever = keys.filter((k) => k.key !== LEADERBOARD && (k.ttl < 0 || k.ttl > TTL_MAX));
          expectThat(forever.length === 0, `Every key but \`${LEADERBOARD}\` is cache-only and must expire within ${TTL_MAX} s; ${forever.length} do not (TTL -1 means no expiry).`, {
            expected: `TTL between 1 and ${TTL_MAX} on every key but ${LEADERBOARD}`,
            received: forever.slice(0, 8).map((k) => `TTL ${k.key} = ${k.ttl} (${k.type})`).join('\n'),
          });
          const lb = await ctx.redis.ttl(LEADERBOARD);
          expectThat(lb === -1, `The leaderboard is data, not cache: \`${LEADERBOARD}\` must not expire (its scores would vanish with it).`, { expected: `TTL ${LEADERBOARD} = -1`, received: `TTL ${LEADERBOARD} = ${lb}` });
        },
      },
      {
        id: 'cache-invalidation',
        title: 'A new order shows in the summary at once: the write drops (or updates) the cached summary',
        hint: 'After the INSERT of an order succeeds, DEL the player\'s cached summary (or write the new one): the TTL bounds staleness from other writers, not from your own.',
        // Many sequential requests: generous on a loaded machine (a ceiling, not a budget).
        timeoutMs: 30_000,
        async run(ctx) {
          const { http, random } = ctx;
          const p = await createPlayer(http, random);
          const q1 = random.int(1, 50);
          await createOrder(http, orderOf(random, p.id, q1));
          await summaryOf(http, p.id);
          await summaryOf(http, p.id);
          const q2 = random.int(1, 50);
          await createOrder(http, orderOf(random, p.id, q2));
          const { body, res } = await summaryOf(http, p.id);
          expectThat(body.orders === 2 && body.total_quantity === q1 + q2, `After a second order through POST /orders, GET /players/${p.id}/summary must count it at once: the cached summary was not dropped when the order was written.`, {
            expected: show({ player_id: p.id, orders: 2, total_quantity: q1 + q2 }),
            res,
          });
        },
      },
    ],
  },
  import.meta.dirname,
);
