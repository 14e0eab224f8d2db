import { CheckFailure, defineLab, expectJson, expectThat, type CheckContext, type HttpResponse } from '../../grader/index.ts';

// Two learner processes, orders (the server, ctx.server) and inventory (ctx.process('inventory')), with the
// grader's fault network between them: orders reaches inventory only through PEERS, a proxy the checks
// delay, blackhole and cut. The grader talks to inventory through its own link (ctx.net.clientUrl), which
// the orders<->inventory faults leave alone, and reads what inventory received from GET /calls.

const ATTEMPTS = 3;

type Knob = 'TIMEOUT_MS' | 'RETRY_BASE_MS' | 'BREAKER_FAILURES' | 'OPEN_MS';
const num = (ctx: CheckContext, name: Knob) => Number(ctx.env[name]);

const inv = (ctx: CheckContext, path: string) => `${ctx.net.clientUrl('inventory')}${path}`;
const enc = encodeURIComponent;

/** A request id of this check's own (so inventory's record of it is this scenario's). */
const newId = (ctx: CheckContext, tag: string) => `${tag}-${ctx.random.string(12)}`;

/** A sku no other check uses: lowercase word plus a few characters that need escaping in a path. */
const newSku = (ctx: CheckContext, tag: string) => `${tag}-${ctx.random.word(4, 7)}-${ctx.random.int(100, 999)}`;

const withId = (id: string) => ({ headers: { 'X-Request-Id': id } });

function failWith(ctx: CheckContext, message: string, details: { expected?: string; received?: string; res?: HttpResponse } = {}): never {
  const transcript = ctx.net.transcript();
  throw new CheckFailure({ message, expected: details.expected, received: details.received, exchange: details.res?.exchange, transcript: transcript || undefined });
}

/** Until inventory answers GET /health on its PORT (it is started after orders listens). */
async function inventoryUp(ctx: CheckContext, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await ctx.http.get(inv(ctx, '/health'), { timeoutMs: 2000 });
      if (res.status === 200) return;
      last = `GET /health answered ${res.status}`;
    } catch (err) {
      if (!(err instanceof CheckFailure)) throw err;
      last = err.details.transport ?? err.message;
    }
    if (performance.now() > deadline) {
      throw new CheckFailure({
        message: `inventory (\`npm run inventory\`, LABS_ROLE=inventory) did not answer GET /health with 200 on its PORT within ${timeoutMs / 1000} s. Each service listens on the PORT in its own environment; inventory's lines are prefixed [inventory] below.`,
        expected: 'GET /health -> 200',
        received: last,
      });
    }
    await ctx.sleep(100);
  }
}

async function seed(ctx: CheckContext, sku: string, stock: number): Promise<void> {
  const res = await ctx.http.put(inv(ctx, `/items/${enc(sku)}`), { stock });
  const body = expectJson(res, 200, `inventory: PUT /items/<sku> {"stock": ${stock}} sets the stock of an item and answers 200 with {"sku", "stock"}.`);
  expectThat(body?.sku === sku && body?.stock === stock, 'inventory: PUT /items/<sku> answers the item as stored.', { expected: JSON.stringify({ sku, stock }), res });
}

async function stockOf(ctx: CheckContext, sku: string): Promise<number> {
  const res = await ctx.http.get(inv(ctx, `/items/${enc(sku)}`));
  const body = expectJson(res, 200, `inventory: GET /items/${enc(sku)} answers 200 with {"sku", "stock"} for an item it has.`);
  expectThat(typeof body?.stock === 'number', 'inventory: GET /items/<sku> has a numeric "stock".', { expected: `{"sku": ${JSON.stringify(sku)}, "stock": <integer>}`, res });
  return body.stock as number;
}

interface Call {
  method: string;
  path: string;
  at: number;
}

/** What inventory received with this X-Request-Id (GET /calls?requestId=...). */
async function callsFor(ctx: CheckContext, requestId: string): Promise<Call[]> {
  const res = await ctx.http.get(inv(ctx, `/calls?requestId=${enc(requestId)}`));
  const body = expectJson(res, 200, 'inventory: GET /calls?requestId=<id> answers 200 with {"calls": [...]}, the requests it received with that X-Request-Id.');
  const calls = body?.calls;
  expectThat(Array.isArray(calls) && calls.every((c: any) => typeof c?.method === 'string' && typeof c?.path === 'string' && typeof c?.at === 'number'), 'inventory: GET /calls answers {"calls": [{"method", "path", "at"}, ...]} ("at": the time it arrived, ms since the epoch).', {
    expected: '{"calls": [{"method": "POST", "path": "/reservations", "at": 1767225600000}]}',
    res,
  });
  return calls as Call[];
}

/** inventory recorded nothing under the id although the call happened: the id was not forwarded. */
function noIdForwarded(ctx: CheckContext, id: string, call: string): never {
  failWith(ctx, `inventory recorded no request with X-Request-Id ${id}, so the grader cannot count orders' calls: forward the request's X-Request-Id on every call to inventory (see the correlation-id check).`, { expected: `${call} with X-Request-Id: ${id} in inventory's GET /calls?requestId=${id}`, received: '(no request)' });
}

const showCalls = (calls: Call[]) => (calls.length === 0 ? '(no request)' : calls.map((c) => `${c.method} ${c.path} at ${c.at}`).join('\n'));
const reservations = (calls: Call[]) => calls.filter((c) => c.method === 'POST' && c.path.split('?')[0] === '/reservations');

interface Order {
  id: string;
  sku: string;
  qty: number;
  status: string;
}

async function listOrders(ctx: CheckContext): Promise<Order[]> {
  const res = await ctx.http.get('/orders');
  const body = expectJson(res, 200, 'orders: GET /orders answers 200 with {"orders": [...]}.');
  expectThat(Array.isArray(body?.orders), 'orders: GET /orders answers {"orders": [{"id", "sku", "qty", "status"}, ...]}.', { res });
  return body.orders as Order[];
}

/** POST /orders; a transport failure (no answer, reset) comes back as a string. */
async function placeOrder(ctx: CheckContext, sku: string, qty: number, requestId: string, timeoutMs?: number): Promise<{ res?: HttpResponse; ms: number; transport?: string }> {
  const t0 = performance.now();
  try {
    const res = await ctx.http.post('/orders', { sku, qty }, { ...withId(requestId), timeoutMs });
    return { res, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    if (!(err instanceof CheckFailure)) throw err;
    return { ms: Math.round(performance.now() - t0), transport: err.details.transport ?? err.message };
  }
}

/**
 * Before a check that breaks the link: inventory up, orders' breaker closed again (a product read goes
 * through) and no order of an earlier check still pending. Waits out OPEN_MS if a check left the breaker open.
 */
async function settle(ctx: CheckContext): Promise<void> {
  await inventoryUp(ctx);
  const sku = newSku(ctx, 'settle');
  await seed(ctx, sku, 5);
  const budget = num(ctx, 'OPEN_MS') + 8000;
  const deadline = performance.now() + budget;
  let last = '';
  for (;;) {
    const res = await ctx.http.get(`/products/${enc(sku)}`, { ...withId(newId(ctx, 'settle')), timeoutMs: 8000 });
    let body: any;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    if (res.status === 200 && body?.stock === 5 && body?.degraded !== true) {
      const pending = (await listOrders(ctx)).filter((o) => o?.status === 'pending');
      if (pending.length === 0) return;
      last = `orders still pending: ${pending.map((o) => JSON.stringify(o)).join(', ')}`;
    } else {
      last = `GET /products/${enc(sku)} -> ${res.status} ${res.text.slice(0, 200)}`;
    }
    if (performance.now() > deadline) {
      failWith(ctx, `With the network healed and inventory up, orders did not recover within ${budget} ms (OPEN_MS + 8 s): a product read must go through again (the breaker half-opens after OPEN_MS and closes on success), and every pending order must be resolved (cancelled or confirmed).`, {
        expected: `GET /products/${enc(sku)} -> 200 {"sku": ${JSON.stringify(sku)}, "stock": 5}, and no "pending" order in GET /orders`,
        received: last,
      });
    }
    await ctx.sleep(150);
  }
}

/** Orders' answer when inventory cannot be used: 503 or 504 with a JSON {"error"}, never 500, never a hang. */
function expectUnavailable(ctx: CheckContext, r: { res?: HttpResponse; ms: number; transport?: string }, what: string): HttpResponse {
  if (!r.res) failWith(ctx, `${what}: orders never answered (${r.transport}). Every call to inventory needs a timeout (TIMEOUT_MS ${num(ctx, 'TIMEOUT_MS')}); then answer 503 or 504.`, { expected: '503 or 504 within TIMEOUT_MS plus a little', received: r.transport });
  const res = r.res;
  if (res.status !== 503 && res.status !== 504) {
    failWith(ctx, `${what}: orders must answer 503 (inventory unavailable, breaker open) or 504 (inventory timed out), with {"error": "..."}; not ${res.status}.`, { expected: '503 or 504 {"error": "..."}', res, received: `${res.status} ${res.text.slice(0, 300)}` });
  }
  const body = expectJson(res, [503, 504], `${what}: the 503/504 is JSON with an "error".`);
  expectThat(typeof body?.error === 'string' && body.error !== '', `${what}: the 503/504 says why in "error".`, { expected: '{"error": "<why>"}', res });
  return res;
}

/**
 * Failing calls (the link is cut) until the breaker must be open: BREAKER_FAILURES product reads, each at
 * least one failed attempt (once the breaker opens, the rest fail fast). Reads leave no order to undo behind.
 */
async function tripBreaker(ctx: CheckContext, sku: string, tag: string): Promise<void> {
  const t = num(ctx, 'TIMEOUT_MS');
  const k = num(ctx, 'BREAKER_FAILURES');
  const budget = ATTEMPTS * t + 3 * num(ctx, 'RETRY_BASE_MS') + 5000;
  for (let i = 0; i < k; i++) {
    const res = await ctx.http.get(`/products/${enc(sku)}`, { ...withId(newId(ctx, `${tag}${i + 1}`)), timeoutMs: budget });
    let body: any;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    if (res.status !== 200 || body?.degraded !== true) {
      failWith(ctx, `With the link to inventory cut, GET /products/<sku> (read ${i + 1} of BREAKER_FAILURES = ${k}, to open the breaker) must answer 200 {"sku", "stock": null, "degraded": true}.`, { expected: '200 degraded', received: `${res.status} ${res.text.slice(0, 200)}`, res });
    }
  }
}

/** Polls until no order of `sku` is pending (or the budget ends); the orders of that sku. */
async function resolved(ctx: CheckContext, sku: string, budgetMs: number): Promise<Order[]> {
  const deadline = performance.now() + budgetMs;
  for (;;) {
    const mine = (await listOrders(ctx)).filter((o) => o?.sku === sku);
    if (!mine.some((o) => o.status === 'pending') || performance.now() > deadline) return mine;
    await ctx.sleep(150);
  }
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'microservices',
    title: 'Microservices: orders and inventory, two services over an unreliable network',
    track: 'scaling',
    summary: 'Split a monolith into two services that call each other over HTTP: each starts alone and owns its data; a correlation id end to end; timeouts, retries with backoff only for idempotent calls, a circuit breaker, a degraded answer instead of a 500, and a saga log so a crash between reserve and confirm leaves no half-done order.',
    difficulty: 'advanced',
    estimatedMinutes: 150,
    questions: [4],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check, run before
    // the last check (which stops the server: it would be started again for it).
    malformedRequests: { paths: ['/orders/', '/products/'], before: 'crash-mid-order' },
    services: [],
    roles: ['orders', 'inventory'],
    network: true,
    env: {
      DATA_DIR: {
        description: 'A folder for your files (empty at the start of a run): orders keeps its data in DATA_DIR/orders/, inventory in DATA_DIR/inventory/, and neither reads the other\'s.',
        value: (_r, run) => run.tempDir('data'),
      },
      TIMEOUT_MS: {
        description: 'How long orders waits for one call to inventory before giving up on it, in ms. The grader picks 500 to 700.',
        value: (r) => String(r.int(500, 700)),
      },
      RETRY_BASE_MS: {
        description: 'Backoff base for retrying an idempotent call: before retry k wait between b/2 and b, b = RETRY_BASE_MS * 2^(k-1). The grader picks 400 to 500.',
        value: (r) => String(r.int(400, 500)),
      },
      BREAKER_FAILURES: {
        description: 'Failed calls to inventory in a row after which orders\' circuit breaker opens. The grader picks 4 or 5.',
        value: (r) => String(r.int(4, 5)),
      },
      OPEN_MS: {
        description: 'How long the breaker stays open before it lets one trial call through (half-open), in ms. The grader picks 1500 to 2000.',
        value: (r) => String(r.int(1500, 2000)),
      },
    },
    checks: [
      {
        id: 'order-flow',
        title: 'An order placed at orders reserves its stock at inventory, through PEERS',
        hint: 'orders: POST /orders {"sku", "qty"} calls inventory\'s POST /reservations {"orderId", "sku", "qty"} at the address PEERS gives for inventory, and answers 201 {"id", "sku", "qty", "status": "confirmed"}; 409 when inventory has too little; 400 for a bad body.',
        timeoutMs: 20_000,
        async run(ctx) {
          await inventoryUp(ctx);
          const bytesBefore = ctx.net.peerBytes();
          const sku = `${ctx.random.word(4, 7)} shirt #${ctx.random.int(10, 99)}`; // a space and a #: escape it in the path
          const stock = ctx.random.int(4, 9);
          await seed(ctx, sku, stock);

          const product = await ctx.http.get(`/products/${enc(sku)}`);
          const p = expectJson(product, 200, `orders: GET /products/<sku> reads the item from inventory and answers 200 {"sku", "stock"}.`);
          expectThat(p?.sku === sku && p?.stock === stock, `orders: GET /products/${enc(sku)} answers inventory's stock for that item (the sku has a space and a #: escape it when you call inventory).`, { expected: JSON.stringify({ sku, stock }), res: product });

          const qty = ctx.random.int(1, stock - 2);
          const res = await ctx.http.post('/orders', { sku, qty });
          const order = expectJson(res, 201, `orders: POST /orders {"sku", "qty": ${qty}} with ${stock} in stock reserves it at inventory and answers 201 with the order.`);
          expectThat(typeof order?.id === 'string' && order.id !== '' && order.status === 'confirmed' && order.sku === sku && order.qty === qty, 'orders: the 201 is the order: {"id": "<string>", "sku", "qty", "status": "confirmed"}.', {
            expected: `{"id": "<string>", "sku": ${JSON.stringify(sku)}, "qty": ${qty}, "status": "confirmed"}`,
            res,
          });
          const after = await stockOf(ctx, sku);
          expectThat(after === stock - qty, `After a confirmed order of ${qty}, inventory's stock of the item must be ${stock} - ${qty} = ${stock - qty}: orders reserves through POST /reservations at inventory.`, { expected: `"stock": ${stock - qty}`, received: `"stock": ${after}` });
          const got = await ctx.http.get(`/orders/${enc(order.id)}`);
          const g = expectJson(got, 200, 'orders: GET /orders/<id> answers 200 with the order.');
          expectThat(g?.id === order.id && g?.status === 'confirmed', 'orders: GET /orders/<id> is the order as placed, "confirmed".', { expected: JSON.stringify(order), res: got });

          // the rest of the stock exactly, then one more than is left
          const rest = stock - qty;
          const all = await ctx.http.post('/orders', { sku, qty: rest });
          expectJson(all, 201, `orders: POST /orders for all that is left (${rest}) is confirmed: 201.`);
          const tooMany = await ctx.http.post('/orders', { sku, qty: 1 });
          expectJson(tooMany, 409, 'orders: POST /orders for more than inventory has (0 left) answers 409 with {"error"}.');
          for (const bad of [{ sku, qty: 0 }, { sku, qty: '1' }, { sku, qty: 1.5 }, { qty: 1 }, { sku: '', qty: 1 }]) {
            expectJson(await ctx.http.post('/orders', bad), 400, `orders: POST /orders ${JSON.stringify(bad)}: "sku" must be a non-empty string and "qty" an integer >= 1, so 400.`);
          }
          const end = await stockOf(ctx, sku);
          expectThat(end === 0, 'A refused order (409) and bad requests (400) must not change inventory\'s stock.', { expected: '"stock": 0', received: `"stock": ${end}` });
          const confirmed = (await listOrders(ctx)).filter((o) => o?.sku === sku && o.status === 'confirmed');
          expectThat(confirmed.length === 2, 'orders: GET /orders lists the orders; exactly the two that inventory reserved are "confirmed" (the 409 one is not).', { expected: '2 confirmed orders for the item', received: JSON.stringify(confirmed) });
          expectJson(await ctx.http.get(`/orders/${ctx.random.string(16)}`), 404, 'orders: GET /orders/<id> for an unknown id answers 404.');

          if (ctx.net.peerBytes() === bytesBefore) {
            failWith(ctx, 'Orders were confirmed and inventory\'s stock went down, but not one byte went through the address PEERS gives orders for inventory: orders calls inventory some other way (its real port, a shared file...). Call inventory only at the address in PEERS (PEERS=inventory=127.0.0.1:<port>): that is the network the grader breaks.', {
              expected: `orders calls http://${ctx.env.PEERS?.split('=')[1] ?? '<PEERS address>'}/reservations`,
              received: '0 bytes between orders and inventory through PEERS',
            });
          }
        },
      },
      {
        id: 'starts-alone',
        title: 'Each service starts and serves on its own: orders without inventory, inventory without orders; each keeps its data',
        hint: 'Do not call inventory at startup (no warm-up that must succeed); read your own data from DATA_DIR/<service>/ at start. inventory keeps its stock on disk, so a restart loses nothing.',
        timeoutMs: 40_000,
        async run(ctx) {
          await inventoryUp(ctx);
          const inventory = ctx.process('inventory');
          const sku = newSku(ctx, 'alone');
          const stock = ctx.random.int(5, 9);
          await seed(ctx, sku, stock);
          const res = await ctx.http.post('/orders', { sku, qty: 2 });
          const order = expectJson(res, 201, 'orders: POST /orders with enough stock answers 201.');
          await inventory.kill('SIGKILL');
          try {
            try {
              await ctx.server.restart();
            } catch (err) {
              if (!(err instanceof CheckFailure)) throw err;
              failWith(ctx, `orders was restarted while inventory was down (killed) and did not come back: ${err.message} Each service must start alone; calls to inventory happen per request, not at startup.`);
            }
            const h = await ctx.http.get('/health');
            expectThat(h.status === 200, 'orders: GET /health answers 200 while inventory is down.', { res: h });
            const again = await ctx.http.get(`/orders/${enc(order?.id ?? '')}`);
            const a = expectJson(again, 200, 'orders, restarted while inventory is down: GET /orders/<id> of an order placed before answers 200 from orders\' own data (DATA_DIR/orders/), without inventory.');
            expectThat(a?.status === 'confirmed', 'orders keeps its orders across a restart: the order is still "confirmed".', { expected: '"status": "confirmed"', res: again });
          } finally {
            await inventory.restart();
          }
          await ctx.server.kill('SIGKILL');
          try {
            await inventoryUp(ctx);
            const left = await stockOf(ctx, sku);
            expectThat(left === stock - 2, `inventory was killed (SIGKILL) and started again while orders was down: it must keep its stock (DATA_DIR/inventory/), ${stock} - 2 = ${stock - 2} for the item.`, { expected: `"stock": ${stock - 2}`, received: `"stock": ${left}` });
          } finally {
            await ctx.server.restart();
          }
        },
      },
      {
        id: 'uses-peers',
        title: 'With the link cut, orders cannot reach inventory: it calls only the address in PEERS',
        hint: 'Read PEERS (inventory=127.0.0.1:<port>) and call inventory there, nowhere else: not its real port, not a URL of your own.',
        timeoutMs: 20_000,
        async run(ctx) {
          await settle(ctx);
          const sku = newSku(ctx, 'peers');
          await seed(ctx, sku, 5);
          const id = newId(ctx, 'peers');
          ctx.net.partition(['orders'], ['inventory']);
          const r = await placeOrder(ctx, sku, 1, id, num(ctx, 'TIMEOUT_MS') + 4000);
          const seen = await callsFor(ctx, id);
          if (r.res?.status === 201 || seen.length > 0) {
            failWith(ctx, 'The grader cut every link between orders and inventory (PEERS), yet inventory received orders\' call for this order: orders reaches inventory some other way (its real port, a shared file...). Call inventory only at the address PEERS gives.', {
              expected: 'no request from orders reaches inventory while the link is cut; POST /orders answers 503 or 504',
              received: `POST /orders -> ${r.res ? `${r.res.status} ${r.res.text.slice(0, 200)}` : r.transport}\ninventory received with X-Request-Id ${id}:\n${showCalls(seen)}`,
            });
          }
          const left = await stockOf(ctx, sku);
          expectThat(left === 5, 'With the link cut no reservation can happen: inventory\'s stock is unchanged.', { expected: '"stock": 5', received: `"stock": ${left}` });
        },
      },
      {
        id: 'correlation-id',
        title: 'X-Request-Id goes end to end: echoed by orders, forwarded on every call to inventory, made up when missing',
        hint: 'Take X-Request-Id from the request (or make one), put it on your response and on every call you make to inventory for that request; keep it per request, not in a global.',
        async run(ctx) {
          await settle(ctx);
          const sku = newSku(ctx, 'corr');
          await seed(ctx, sku, 20);
          const id = newId(ctx, 'req');
          const res = await ctx.http.post('/orders', { sku, qty: 1 }, withId(id));
          expectJson(res, 201, 'orders: POST /orders with enough stock answers 201.');
          expectThat(res.header('x-request-id') === id, 'orders: the response carries the X-Request-Id the request came with.', { expected: `X-Request-Id: ${id}`, res });
          const seen = await callsFor(ctx, id);
          expectThat(reservations(seen).length === 1, 'orders must forward X-Request-Id on its call to inventory: inventory\'s GET /calls?requestId=<id> shows the POST /reservations it received with it.', { expected: `POST /reservations with X-Request-Id: ${id}`, received: showCalls(seen) });

          const readId = newId(ctx, 'read');
          const read = await ctx.http.get(`/products/${enc(sku)}`, withId(readId));
          expectJson(read, 200, 'orders: GET /products/<sku> answers 200.');
          const reads = await callsFor(ctx, readId);
          expectThat(read.header('x-request-id') === readId && reads.some((c) => c.method === 'GET' && c.path.startsWith('/items/')), 'orders: a product read carries its X-Request-Id to inventory\'s GET /items/<sku> too, and echoes it.', { expected: `GET /items/... with X-Request-Id: ${readId}`, received: showCalls(reads), res: read });

          const anon = await ctx.http.post('/orders', { sku, qty: 1 });
          expectJson(anon, 201, 'orders: POST /orders with enough stock answers 201.');
          const made = anon.header('x-request-id');
          expectThat(typeof made === 'string' && made !== '', 'orders: a request without X-Request-Id gets one made up, on the response.', { expected: 'X-Request-Id: <a new id>', res: anon });
          const madeSeen = await callsFor(ctx, made!);
          expectThat(reservations(madeSeen).length === 1, 'orders: the id it made up is the one it sends to inventory.', { expected: `POST /reservations with X-Request-Id: ${made}`, received: showCalls(madeSeen) });

          // two at once: each id stays with its own request
          const ids = [newId(ctx, 'a'), newId(ctx, 'b')];
          const both = await Promise.all(ids.map((i) => ctx.http.get(`/products/${enc(sku)}`, withId(i))));
          for (const [i, r] of both.entries()) {
            const calls = await callsFor(ctx, ids[i]!);
            expectThat(r.header('x-request-id') === ids[i] && calls.length >= 1, 'Two requests at once: each carries its own X-Request-Id to inventory and back (keep the id with the request, not in a variable all requests share).', { expected: `X-Request-Id: ${ids[i]} on the answer and on its call to inventory`, received: showCalls(calls), res: r });
          }
        },
      },
      {
        id: 'timeout',
        title: 'Inventory never answers: POST /orders answers 503/504 within TIMEOUT_MS, never hangs',
        hint: 'Give every call to inventory a deadline of TIMEOUT_MS (AbortSignal.timeout, a socket timeout); when it passes, answer 504 (or 503) with {"error"} instead of waiting forever.',
        timeoutMs: 25_000,
        async run(ctx) {
          await settle(ctx);
          const t = num(ctx, 'TIMEOUT_MS');
          const sku = newSku(ctx, 'slow');
          await seed(ctx, sku, 5);
          ctx.net.drop('orders', 'inventory'); // orders' requests vanish: no answer ever comes
          const r = await placeOrder(ctx, sku, 1, newId(ctx, 'timeout'), t + 5000);
          expectUnavailable(ctx, r, 'Inventory never receives the call (the link is blackholed)');
          const limit = t + 1000;
          if (r.ms > limit) failWith(ctx, `POST /orders took ${r.ms} ms with inventory silent: give up on a call after TIMEOUT_MS (${t} ms) and answer at once (a non-idempotent reservation is not retried).`, { expected: `503/504 within ${limit} ms (TIMEOUT_MS + 1 s)`, received: `${r.res!.status} after ${r.ms} ms`, res: r.res });
          ctx.note(`answered ${r.res!.status} after ${r.ms} ms (TIMEOUT_MS ${t})`);
        },
      },
      {
        id: 'retry-idempotent',
        title: `A product read (idempotent) is tried ${ATTEMPTS} times with exponential backoff and jitter, then answered degraded`,
        hint: `Retry only idempotent calls (GET /items/<sku>): ${ATTEMPTS} attempts in all; before retry k wait a random time between b/2 and b, b = RETRY_BASE_MS * 2^(k-1). Each attempt has its own TIMEOUT_MS.`,
        timeoutMs: 30_000,
        async run(ctx) {
          await settle(ctx);
          const t = num(ctx, 'TIMEOUT_MS');
          const base = num(ctx, 'RETRY_BASE_MS');
          const sku = newSku(ctx, 'retry');
          await seed(ctx, sku, 5);
          const id = newId(ctx, 'retry');
          ctx.net.delayReplies('orders', 'inventory', 4 * t + 4 * base); // every request arrives, every answer too late
          const res = await ctx.http.get(`/products/${enc(sku)}`, { ...withId(id), timeoutMs: ATTEMPTS * t + 3 * base + 6000 });
          const body = expectJson(res, 200, 'orders: GET /products/<sku> when inventory cannot answer in time is 200 with "degraded": true (after its retries).');
          expectThat(body?.degraded === true, 'orders: a product read that inventory could not answer in time is {"sku", "stock": null, "degraded": true}.', { expected: `{"sku": ${JSON.stringify(sku)}, "stock": null, "degraded": true}`, res });
          await ctx.sleep(base);
          const attempts = (await callsFor(ctx, id)).filter((c) => c.method === 'GET' && c.path.startsWith('/items/'));
          if (attempts.length === 0) noIdForwarded(ctx, id, 'GET /items/<sku>');
          if (attempts.length !== ATTEMPTS) {
            failWith(ctx, attempts.length < ATTEMPTS ? `inventory received ${attempts.length} GET /items/<sku> for one product read whose answers all came too late: an idempotent call must be retried, ${ATTEMPTS} attempts in all.` : `inventory received ${attempts.length} GET /items/<sku> for one product read: ${ATTEMPTS} attempts in all, no more.`, {
              expected: `${ATTEMPTS} attempts (X-Request-Id ${id})`,
              received: showCalls(attempts),
            });
          }
          const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
          // gap k = TIMEOUT_MS (the attempt waited) + a wait in [b/2, b], b = base * 2^(k-1)
          const low = [t + 0.3 * base, t + 0.6 * base];
          const high = [t + base + 1500, t + 2 * base + 1500];
          ctx.note(`attempts ${gaps.join(' ms, ')} ms apart (TIMEOUT_MS ${t} + backoff; RETRY_BASE_MS ${base})`);
          for (const [k, g] of gaps.entries()) {
            if (g < low[k]! || g > high[k]!) {
              failWith(ctx, `Attempt ${k + 2} reached inventory ${g} ms after attempt ${k + 1}: that is TIMEOUT_MS (${t}) plus the backoff, which must be between b/2 and b with b = RETRY_BASE_MS * 2^${k} = ${base * 2 ** k} ms. ${g < low[k]! ? 'Wait before retrying (exponential backoff), never at once.' : 'That is too long a wait.'}`, {
                expected: `${Math.round(t + (base * 2 ** k) / 2)} to ${t + base * 2 ** k} ms between attempt ${k + 1} and ${k + 2} (a little more under load)`,
                received: showCalls(attempts),
              });
            }
          }
        },
      },
      {
        id: 'post-not-retried',
        title: 'A reservation (not idempotent) is never retried, even when its answer is lost',
        hint: 'POST /reservations reserves again each time it is sent: when it times out you cannot know whether it happened, so do not send it again; answer 503/504 and undo it (DELETE /reservations/<orderId>, which is idempotent).',
        timeoutMs: 25_000,
        async run(ctx) {
          await settle(ctx);
          const t = num(ctx, 'TIMEOUT_MS');
          const base = num(ctx, 'RETRY_BASE_MS');
          const sku = newSku(ctx, 'once');
          await seed(ctx, sku, 10);
          const id = newId(ctx, 'once');
          ctx.net.delayReplies('orders', 'inventory', 4 * t); // inventory reserves; its answer comes after orders gave up
          const r = await placeOrder(ctx, sku, 2, id, 4 * t + 6000);
          expectUnavailable(ctx, r, 'Inventory\'s answer to the reservation comes after TIMEOUT_MS');
          ctx.net.heal(); // a retry sent from now on would reach inventory too
          await ctx.sleep(t + 2 * base + 500); // any retry would be there by now
          const posts = reservations(await callsFor(ctx, id));
          if (posts.length === 0) noIdForwarded(ctx, id, 'POST /reservations');
          if (posts.length !== 1) {
            failWith(ctx, `inventory received POST /reservations ${posts.length} times for one order: a reservation is not idempotent (each one takes stock again), so orders must send it once and never retry it.`, { expected: `1 POST /reservations with X-Request-Id ${id}`, received: showCalls(posts) });
          }
        },
      },
      {
        id: 'compensates',
        title: 'A reservation whose answer was lost is undone: the order ends cancelled and the stock comes back',
        hint: 'The saga\'s compensation: when the reservation timed out or failed, keep the order "pending" and call DELETE /reservations/<orderId> (retrying, it is idempotent) until inventory confirms; then set the order "cancelled".',
        timeoutMs: 30_000,
        async run(ctx) {
          await settle(ctx);
          const t = num(ctx, 'TIMEOUT_MS');
          const sku = newSku(ctx, 'undo');
          const stock = ctx.random.int(6, 9);
          await seed(ctx, sku, stock);
          ctx.net.delayReplies('orders', 'inventory', 4 * t);
          const r = await placeOrder(ctx, sku, 3, newId(ctx, 'undo'), 4 * t + 6000);
          expectUnavailable(ctx, r, 'Inventory\'s answer to the reservation comes after TIMEOUT_MS');
          ctx.net.heal();
          const budget = num(ctx, 'OPEN_MS') + 8000;
          const mine = await resolved(ctx, sku, budget);
          const left = await stockOf(ctx, sku);
          if (mine.length !== 1 || mine[0]!.status !== 'cancelled' || left !== stock) {
            failWith(ctx, `POST /orders answered ${r.res!.status} because inventory's answer came too late, but inventory had reserved 3. Within ${budget} ms of the network healing (OPEN_MS + 8 s) that order must be "cancelled" and the stock back to ${stock}: undo the reservation (DELETE /reservations/<orderId>) instead of leaving it half done.`, {
              expected: `one order of the item, "status": "cancelled"; inventory's "stock": ${stock}`,
              received: `orders of the item: ${JSON.stringify(mine)}; inventory's "stock": ${left}`,
            });
          }
        },
      },
      {
        id: 'degraded',
        title: 'Inventory down: a product read answers 200 degraded, never a 500; orders\' own data is still served',
        hint: 'When inventory cannot be reached, a read still answers: 200 {"sku", "stock": null, "degraded": true}, not a 500; orders\' own data (GET /orders/<id>) is served as usual.',
        timeoutMs: 30_000,
        async run(ctx) {
          await settle(ctx);
          const t = num(ctx, 'TIMEOUT_MS');
          const base = num(ctx, 'RETRY_BASE_MS');
          const sku = newSku(ctx, 'down');
          await seed(ctx, sku, 5);
          const placed = await ctx.http.post('/orders', { sku, qty: 1 });
          const order = expectJson(placed, 201, 'orders: POST /orders with enough stock answers 201.');
          const inventory = ctx.process('inventory');
          await inventory.kill('SIGKILL');
          try {
            const read = await ctx.http.get(`/products/${enc(sku)}`, { timeoutMs: ATTEMPTS * t + 3 * base + 5000 });
            if (read.status !== 200) failWith(ctx, `With inventory down, GET /products/<sku> answered ${read.status}: answer 200 {"sku", "stock": null, "degraded": true} instead (a degraded answer, not an error).`, { expected: '200 {"sku", "stock": null, "degraded": true}', res: read, received: `${read.status} ${read.text.slice(0, 300)}` });
            const body = expectJson(read, 200, 'orders: the degraded answer is JSON.');
            expectThat(body?.degraded === true && body?.stock === null && body?.sku === sku, 'orders: with inventory down a product read is {"sku", "stock": null, "degraded": true}.', { expected: `{"sku": ${JSON.stringify(sku)}, "stock": null, "degraded": true}`, res: read });
            const mine = await ctx.http.get(`/orders/${enc(order?.id ?? '')}`);
            expectJson(mine, 200, 'orders: with inventory down, GET /orders/<id> still answers 200 from orders\' own data.');
          } finally {
            await inventory.restart();
          }
        },
      },
      {
        id: 'breaker-opens',
        title: 'After BREAKER_FAILURES failures in a row the breaker opens: for OPEN_MS no call reaches inventory',
        hint: 'Count failed calls to inventory in a row; at BREAKER_FAILURES open the breaker: for OPEN_MS every call fails fast (503 for an order, degraded for a read) without being sent, even if inventory is back.',
        timeoutMs: 30_000,
        async run(ctx) {
          await settle(ctx);
          const sku = newSku(ctx, 'open');
          await seed(ctx, sku, 50);
          ctx.net.partition(['orders'], ['inventory']);
          await tripBreaker(ctx, sku, 'trip');
          const opened = performance.now();
          ctx.net.heal(); // inventory is reachable again, but the breaker must not try it yet
          const ids = [newId(ctx, 'open1'), newId(ctx, 'open2')];
          const r = await placeOrder(ctx, sku, 1, ids[0]!, 5000);
          const read = await ctx.http.get(`/products/${enc(sku)}`, withId(ids[1]!));
          const within = performance.now() - opened;
          const seen = [...(await callsFor(ctx, ids[0]!)), ...(await callsFor(ctx, ids[1]!))];
          if (seen.length > 0 || r.res?.status === 201) {
            failWith(ctx, `After ${num(ctx, 'BREAKER_FAILURES')} failed calls in a row (BREAKER_FAILURES) the breaker must be open for OPEN_MS (${num(ctx, 'OPEN_MS')} ms): calls fail fast without reaching inventory. The grader healed the link right after the failures, and ${Math.round(within)} ms later inventory received orders' calls.`, {
              expected: 'no request reaches inventory; POST /orders -> 503, GET /products/<sku> -> 200 degraded',
              received: `POST /orders -> ${r.res ? r.res.status : r.transport}; GET /products -> ${read.status} ${read.text.slice(0, 200)}\ninventory received:\n${showCalls(seen)}`,
            });
          }
          expectUnavailable(ctx, r, 'With the breaker open, POST /orders');
          const body = expectJson(read, 200, 'With the breaker open, GET /products/<sku> answers 200 degraded.');
          expectThat(body?.degraded === true, 'With the breaker open, a product read answers {"sku", "stock": null, "degraded": true}.', { res: read });
        },
      },
      {
        id: 'breaker-half-open',
        title: 'After OPEN_MS the breaker lets one trial call through: a failed trial opens it again, a good one closes it',
        hint: 'Open -> (OPEN_MS passes) -> half-open: let one call through. If it fails, open again for OPEN_MS; if it succeeds, close the breaker and count failures from zero.',
        timeoutMs: 40_000,
        async run(ctx) {
          await settle(ctx);
          const openMs = num(ctx, 'OPEN_MS');
          const t = num(ctx, 'TIMEOUT_MS');
          const sku = newSku(ctx, 'half');
          await seed(ctx, sku, 50);
          ctx.net.partition(['orders'], ['inventory']);
          await tripBreaker(ctx, sku, 'half');
          await ctx.sleep(openMs + 300);
          // half-open now, inventory still cut: this read (or any call) is the trial, and it fails
          await ctx.http.get(`/products/${enc(sku)}`, { ...withId(newId(ctx, 'trial')), timeoutMs: ATTEMPTS * t + 3 * num(ctx, 'RETRY_BASE_MS') + 5000 });
          ctx.net.heal();
          const reopenedId = newId(ctx, 'reopened');
          const r = await placeOrder(ctx, sku, 1, reopenedId, 5000);
          const seen = await callsFor(ctx, reopenedId);
          if (seen.length > 0 || r.res?.status === 201) {
            failWith(ctx, 'The breaker was half-open and its trial call failed (the link was still cut): it must open again for OPEN_MS. Right after the grader healed the link, an order reached inventory.', { expected: 'POST /orders -> 503 without reaching inventory', received: `POST /orders -> ${r.res?.status ?? r.transport}\ninventory received:\n${showCalls(seen)}` });
          }
          await ctx.sleep(openMs + 300);
          // the trial now succeeds and closes the breaker; another call may be taking the trial slot, so try for a while
          const deadline = performance.now() + 3000;
          let last: { res?: HttpResponse; ms: number; transport?: string } | undefined;
          for (;;) {
            last = await placeOrder(ctx, sku, 1, newId(ctx, 'closed'), t + 4000);
            if (last.res?.status === 201 || performance.now() > deadline) break;
            await ctx.sleep(100);
          }
          if (last.res?.status !== 201) {
            failWith(ctx, `The link has been healed for over OPEN_MS (${openMs} ms): the breaker must half-open, let a trial call through, and close when it succeeds. POST /orders still fails 3 s later.`, { expected: '201 (the breaker closed again)', received: last.res ? `${last.res.status} ${last.res.text.slice(0, 200)}` : last.transport, res: last.res });
          }
          for (let i = 0; i < 2; i++) {
            const after = await placeOrder(ctx, sku, 1, newId(ctx, 'after'), t + 4000);
            expectThat(after.res?.status === 201, 'Once a trial call succeeded the breaker is closed: the next orders go through (201).', { expected: '201', received: after.res ? `${after.res.status} ${after.res.text.slice(0, 200)}` : after.transport, res: after.res });
          }
        },
      },
      {
        id: 'crash-mid-order',
        title: 'orders killed between reserve and confirm: at its next start the order is resolved, nothing half done',
        hint: 'Write the order to DATA_DIR/orders/ as "pending" before calling inventory (the saga\'s log). At startup, resolve every pending order: give its reservation back (DELETE /reservations/<orderId>) and cancel it, retrying until inventory answers.',
        timeoutMs: 40_000,
        async run(ctx) {
          await settle(ctx);
          const t = num(ctx, 'TIMEOUT_MS');
          const sku = newSku(ctx, 'crash');
          const stock = ctx.random.int(6, 9);
          const qty = ctx.random.int(1, 3);
          await seed(ctx, sku, stock);
          const id = newId(ctx, 'crash');
          ctx.net.dropReplies('orders', 'inventory'); // inventory reserves; orders never hears back
          const inFlight = placeOrder(ctx, sku, qty, id, t + 6000);
          const deadline = performance.now() + 4000;
          let reserved = false;
          while (performance.now() < deadline) {
            if (reservations(await callsFor(ctx, id)).length > 0 && (await stockOf(ctx, sku)) === stock - qty) {
              reserved = true;
              break;
            }
            await ctx.sleep(25);
          }
          if (!reserved && (await callsFor(ctx, id)).length === 0 && (await stockOf(ctx, sku)) === stock - qty) noIdForwarded(ctx, id, 'POST /reservations');
          if (!reserved) failWith(ctx, `POST /orders {"qty": ${qty}} was sent, but inventory did not receive its POST /reservations (with X-Request-Id ${id}) and take the stock within 4 s.`, { expected: `POST /reservations; inventory's stock ${stock - qty}`, received: showCalls(await callsFor(ctx, id)) });
          await ctx.server.kill('SIGKILL'); // between reserve and confirm
          const early = await inFlight;
          if (early.res?.status === 201) {
            failWith(ctx, 'orders answered 201 although the grader swallowed every answer inventory sent it through PEERS: orders reaches inventory some other way (its real port, a shared file...). Call inventory only at the address PEERS gives.', { expected: 'no answer (orders was killed while waiting for inventory)', received: `201 ${early.res.text.slice(0, 200)}`, res: early.res });
          }
          ctx.net.heal();
          await ctx.server.restart();
          const budget = 8000;
          const mine = await resolved(ctx, sku, budget);
          const left = await stockOf(ctx, sku);
          const confirmed = mine.filter((o) => o.status === 'confirmed').length;
          const received = `orders of the item after the restart: ${JSON.stringify(mine)}; inventory's "stock": ${left} (was ${stock})`;
          if (mine.length === 0 && left === stock - qty) {
            failWith(ctx, `orders was killed (SIGKILL) after inventory reserved ${qty} but before the order was confirmed. After the restart orders knows no such order, yet inventory still holds the reservation: a half-done order. Write the order ("pending") to DATA_DIR/orders/ before calling inventory, and at startup resolve every pending order.`, { expected: `the order "cancelled" with inventory's stock back to ${stock} (or "confirmed" with ${stock - qty})`, received });
          }
          if (mine.some((o) => o.status === 'pending')) {
            failWith(ctx, `orders was killed between reserve and confirm and started again: ${budget / 1000} s later the order is still "pending". At startup, resolve every pending order: give the reservation back and cancel it (or confirm it if the reservation exists).`, { expected: '"cancelled" (or "confirmed")', received });
          }
          if (left !== stock - confirmed * qty) {
            failWith(ctx, 'After the crash and restart, orders and inventory disagree: a cancelled order must hold no stock, a confirmed one exactly its qty.', { expected: `inventory's stock ${stock - confirmed * qty} for ${confirmed} confirmed order(s) of ${qty}`, received });
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
