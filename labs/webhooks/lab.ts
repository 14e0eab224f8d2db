import type { ServerResponse } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import {
  describeTiming,
  CheckFailure,
  defineLab,
  expectEqual,
  expectJson,
  expectThat,
  mediaType,
  show,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
  webhookSecret,
  type CheckContext,
  HostedByEnv,
  type HostedRequest,
  type HttpResponse,
  type Random,
  type EnvContext,
} from '../../grader/index.ts';

// ---------------------------------------------------------------------------------------------------
// Receiver side: the grader plays the provider and POSTs signed events to /webhooks.

const ACCEPTED = [200, 201, 202, 204];
const REJECTED = [400, 401, 403];

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function messageId(random: Random): string {
  return `msg_${random.string(24, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`;
}

function account(random: Random): string {
  return `acc_${random.string(12)}`;
}

/** A compact JSON event, exactly as JSON.stringify writes it. */
function creditEvent(acc: string, amount: number): string {
  return JSON.stringify({ type: 'account.credited', timestamp: new Date().toISOString(), data: { account: acc, amount } });
}

interface Delivery {
  id: string;
  timestamp: number;
  payload: string;
  /** Overrides the signature header (default: one valid v1 signature). */
  signature?: string;
  /** Headers to drop. */
  omit?: string[];
  /** Sign with this secret instead of WEBHOOK_SECRET. */
  secret?: string;
  /** Send these bytes instead of the signed payload. */
  sendBody?: string;
  newConnection?: boolean;
}

async function send(ctx: CheckContext, d: Delivery): Promise<HttpResponse> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    ...(await webhookHeaders(d.secret ?? ctx.env.WEBHOOK_SECRET, d.id, d.timestamp, d.payload)),
  };
  if (d.signature !== undefined) headers['webhook-signature'] = d.signature;
  for (const h of d.omit ?? []) delete headers[h];
  return ctx.http.request('/webhooks', { method: 'POST', body: d.sendBody ?? d.payload, headers, newConnection: d.newConnection });
}

function expectAccepted(res: HttpResponse, why: string): void {
  res.expectStatus(ACCEPTED, why);
}

function expectRejected(res: HttpResponse, why: string): void {
  res.expectStatus(REJECTED, why);
}

async function balance(ctx: CheckContext, acc: string): Promise<{ value: number; res: HttpResponse }> {
  const res = await ctx.http.get(`/accounts/${acc}`);
  const body = expectJson(res, 200, `GET /accounts/${acc} must answer 200 with {"account": "${acc}", "balance": <number>}.`);
  expectThat(typeof body?.balance === 'number', 'The account body must carry a numeric `balance`.', { expected: `{"account": "${acc}", "balance": <number>}`, res });
  return { value: body.balance, res };
}

async function expectBalance(ctx: CheckContext, acc: string, expected: number, message: string): Promise<void> {
  const { value, res } = await balance(ctx, acc);
  expectThat(value === expected, message, { expected: `"balance": ${expected}`, received: `"balance": ${value}`, res });
}

// ---------------------------------------------------------------------------------------------------
// Sender side: the grader hosts the subscriber's endpoint on 127.0.0.1 and scripts its answers.

type Answer = number | 'hang';

interface Attempt {
  /** performance.now() when the request had fully arrived. */
  at: number;
  /** performance.now() when the grader answered (undefined while hanging). */
  answeredAt?: number;
  answer: Answer;
  request: HostedRequest;
}

interface Scenario {
  answers: Answer[];
  attempts: Attempt[];
  hung: ServerResponse[];
}

/** The grader-hosted endpoint for one run: deliveries are matched to scenarios by `data.ref`. */
class Endpoint {
  readonly scenarios = new Map<string, Scenario>();
  readonly stray: HostedRequest[] = [];
  private listeners = new Set<() => void>();
  path = '/';

  handle(req: HostedRequest, res: ServerResponse): void {
    let ref: unknown;
    try {
      ref = JSON.parse(req.body.toString('utf8'))?.data?.ref;
    } catch {
      ref = undefined;
    }
    const scenario = typeof ref === 'string' ? this.scenarios.get(ref) : undefined;
    if (!scenario) {
      this.stray.push(req);
      res.writeHead(200).end();
      return;
    }
    const answer = scenario.answers[Math.min(scenario.attempts.length, scenario.answers.length - 1)];
    const attempt: Attempt = { at: performance.now(), answer, request: req };
    scenario.attempts.push(attempt);
    if (answer === 'hang') {
      scenario.hung.push(res);
    } else {
      res.writeHead(answer, { 'Content-Type': 'application/json' }).end(answer >= 200 && answer < 300 ? '{"ok":true}' : '{"error":"try again"}');
      attempt.answeredAt = performance.now();
    }
    for (const l of [...this.listeners]) l();
  }

  expect(ref: string, answers: Answer[]): Scenario {
    const s: Scenario = { answers, attempts: [], hung: [] };
    this.scenarios.set(ref, s);
    return s;
  }

  /** Resolves once `scenario` has `n` attempts, or after `timeoutMs` (whatever it has by then). */
  waitFor(scenario: Scenario, n: number, timeoutMs: number, signal: AbortSignal): Promise<Attempt[]> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
        signal.removeEventListener('abort', done);
        resolve(scenario.attempts);
      };
      const check = () => {
        if (scenario.attempts.length >= n) done();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal.addEventListener('abort', done, { once: true });
      this.listeners.add(check);
      check();
    });
  }
}

/** The endpoint hosted for DELIVERY_URL (one per run: the knob hosts it before the server starts). */
const endpoints = new HostedByEnv<Endpoint>('DELIVERY_URL');

function hostEndpoint(random: Random, run: EnvContext): Promise<string> {
  const ep = new Endpoint();
  ep.path = `/hooks/${random.string(10)}`;
  return endpoints.host(run, ep, (req, res) => ep.handle(req, res), ep.path);
}

const endpoint = (ctx: CheckContext): Endpoint => endpoints.of(ctx);

function baseMs(ctx: CheckContext): number {
  return Number(ctx.env.DELIVERY_RETRY_BASE_MS);
}

interface Sent {
  ref: string;
  type: string;
  data: Record<string, unknown>;
  id: string;
  res: HttpResponse;
}

/** POST /events and read the message id back. */
async function publish(ctx: CheckContext, ref: string): Promise<Sent> {
  const { random } = ctx;
  const type = random.pick(['invoice.paid', 'order.shipped', 'user.created']);
  const data = { ref, object: `obj_${random.string(10)}`, amount: random.int(100, 99_999), note: `café ${random.word()} ✓` };
  const res = await ctx.http.post('/events', { type, data });
  const body = expectJson(res, [200, 201, 202], 'POST /events must accept the event (202 Accepted) and answer with JSON {"id": "<the webhook-id of this message>"}.');
  expectThat(typeof body?.id === 'string' && body.id.length > 0, 'The answer to POST /events must carry the message id: {"id": "msg_..."}.', { expected: '{"id": "msg_..."}', res });
  return { ref, type, data, id: body.id, res };
}

function describeAttempt(a: Attempt, i: number, t0: number): string {
  const h = a.request.headers;
  const answered = a.answeredAt === undefined ? '' : `, answered at +${Math.round(a.answeredAt - t0)} ms`;
  return [
    `attempt ${i + 1} (arrived at +${Math.round(a.at - t0)} ms${answered}): ${a.request.method} ${a.request.path}`,
    `  webhook-id: ${h['webhook-id'] ?? '(absent)'}`,
    `  webhook-timestamp: ${h['webhook-timestamp'] ?? '(absent)'}`,
    `  webhook-signature: ${h['webhook-signature'] ?? '(absent)'}`,
    `  content-type: ${h['content-type'] ?? '(absent)'}`,
    `  body: ${a.request.body.toString('utf8').slice(0, 300)}`,
    `  grader answered: ${a.answer === 'hang' ? 'nothing (kept the connection open)' : `HTTP ${a.answer}`}`,
  ].join('\n');
}

/** Fails with every attempt received so far and, as the reproduction, the POST /events that started it. */
function failWith(message: string, attempts: Attempt[], expected?: string, sent?: Sent): never {
  const t0 = attempts[0]?.at ?? 0;
  throw new CheckFailure({
    message,
    expected,
    received: attempts.length ? attempts.map((a, i) => describeAttempt(a, i, t0)).join('\n') : '(no delivery arrived)',
    exchange: sent?.res.exchange,
  });
}

/** Nothing arrived for this event: say so, with whatever did arrive (e.g. without the event's data). */
function noDelivery(ep: Endpoint, sent: Sent): never {
  const stray = ep.stray.slice(-3).map((r) => `${r.method} ${r.path}\n  webhook-id: ${r.headers['webhook-id'] ?? '(absent)'}\n  body: ${r.body.toString('utf8').slice(0, 300)}`);
  throw new CheckFailure({
    message: `No delivery of ${sent.id} reached DELIVERY_URL within 5 s of POST /events.`,
    expected: `POST ${ep.path} with {"type": "${sent.type}", "timestamp": "...", "data": ${JSON.stringify(sent.data)}}`,
    received: stray.length ? `other requests arrived:\n${stray.join('\n')}` : '(nothing arrived)',
    exchange: sent.res.exchange,
  });
}

/** One delivery as the contract says: POST to DELIVERY_URL, JSON, the event, a valid signature, the id from POST /events. */
async function expectValidDelivery(ctx: CheckContext, ep: Endpoint, sent: Sent, attempts: Attempt[], index: number): Promise<void> {
  const a = attempts[index];
  const req = a.request;
  const where = `Delivery attempt ${index + 1} of ${sent.id}`;
  if (req.method !== 'POST' || req.path !== ep.path) failWith(`${where} must be a POST to DELIVERY_URL.`, attempts, `POST ${ep.path}`, sent);
  if (mediaType(req.headers['content-type']) !== 'application/json') failWith(`${where} must be sent with \`Content-Type: application/json\`.`, attempts, undefined, sent);
  const verdict = await verifyWebhook(ctx.env.DELIVERY_SECRET, req.body, req.headers);
  if (!verdict.ok) failWith(`${where} is not validly signed with DELIVERY_SECRET: ${verdict.reason}.`, attempts, 'webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">', sent);
  if (req.headers['webhook-id'] !== sent.id) failWith(`${where} must carry \`webhook-id: ${sent.id}\`, the id POST /events answered (the same on every attempt).`, attempts, `webhook-id: ${sent.id}`, sent);
  let body: any;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch {
    failWith(`${where} has a body that is not JSON.`, attempts, undefined, sent);
  }
  if (body?.type !== sent.type || !isDeepStrictEqual(body?.data, sent.data)) {
    failWith(`${where} must carry the event as {"type", "timestamp", "data"} with the type and data given to POST /events.`, attempts, show({ type: sent.type, timestamp: '<ISO 8601>', data: sent.data }), sent);
  }
}

// ---------------------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'webhooks',
    title: 'Webhooks: verify what you receive, retry what you send',
    track: 'security',
    summary: 'Receive Standard Webhooks (signature over the raw body, timestamps, idempotency) and send them (signing, retries with backoff, timeouts, 410).',
    difficulty: 'intermediate',
    estimatedMinutes: 120,
    questions: [18],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check.
    malformedRequests: { paths: ['/accounts/'] },
    env: {
      WEBHOOK_SECRET: {
        description: 'The `whsec_...` secret incoming webhooks (POST /webhooks) are signed with.',
        value: (random) => webhookSecret(random),
      },
      DELIVERY_SECRET: {
        description: 'The `whsec_...` secret your outgoing deliveries must be signed with.',
        value: (random) => webhookSecret(random),
      },
      DELIVERY_URL: {
        description: 'Where outgoing deliveries go: an endpoint the grader hosts on 127.0.0.1 (it scripts its answers: 2xx, 5xx, no answer, 410).',
        value: hostEndpoint,
      },
      DELIVERY_RETRY_BASE_MS: {
        description: 'Delay before the first retry of a failed delivery, in ms; each further retry waits twice as long.',
        value: (random) => String(random.int(100, 150)),
      },
      DELIVERY_TIMEOUT_MS: {
        description: 'How long one delivery attempt may take before it counts as failed, in ms.',
        value: (random) => String(random.int(1000, 1200)),
      },
    },
    checks: [
      {
        id: 'accepts-valid',
        title: 'A validly signed event is acknowledged (2xx) and applied',
        hint: 'Read the raw body, compute base64(HMAC-SHA256(base64decode(secret without "whsec_"), "<webhook-id>.<webhook-timestamp>.<raw body>")), compare with each `v1,` entry of webhook-signature, then credit the account.',
        async run(ctx) {
          const { random } = ctx;
          const acc = account(random);
          const first = random.int(100, 9999);
          const second = random.int(100, 9999);
          await expectBalance(ctx, acc, 0, `An account that never received a credit has balance 0 (GET /accounts/${acc}).`);
          const res = await send(ctx, { id: messageId(random), timestamp: now(), payload: creditEvent(acc, first) });
          expectAccepted(res, 'A validly signed `account.credited` event must be acknowledged with a 2xx status.');
          await expectBalance(ctx, acc, first, `After crediting ${first}, GET /accounts/${acc} must show it.`);
          const again = await send(ctx, { id: messageId(random), timestamp: now(), payload: creditEvent(acc, second) });
          expectAccepted(again, 'A second event (another webhook-id) must be acknowledged too.');
          await expectBalance(ctx, acc, first + second, 'Two credits must add up.');
        },
      },
      {
        id: 'rejects-tampered',
        title: 'A changed byte, a wrong secret or a missing header is rejected (4xx) and not applied',
        hint: 'Verify before you parse or apply anything, and answer 400 or 401 when no `v1` signature matches (or a header is missing).',
        async run(ctx) {
          const { random } = ctx;
          const acc = account(random);
          const amount = random.int(1000, 8999);
          const payload = creditEvent(acc, amount);
          const digits = String(amount);
          const tampered = payload.replace(`"amount":${digits}`, `"amount":${digits[0] === '9' ? '1' : '9'}${digits.slice(1)}`);
          const cases: { what: string; d: Delivery }[] = [
            { what: 'one byte of the body was changed after signing (the amount)', d: { id: messageId(random), timestamp: now(), payload, sendBody: tampered } },
            { what: 'it was signed with another secret', d: { id: messageId(random), timestamp: now(), payload, secret: webhookSecret(random) } },
            { what: 'its webhook-signature header is missing', d: { id: messageId(random), timestamp: now(), payload, omit: ['webhook-signature'] } },
            { what: 'its webhook-id header is missing', d: { id: messageId(random), timestamp: now(), payload, omit: ['webhook-id'] } },
          ];
          // The signature covers the id too: sign for one id, send another.
          const signedFor = messageId(random);
          const ts = now();
          cases.push({ what: 'the signature was made for another webhook-id', d: { id: messageId(random), timestamp: ts, payload, signature: await signWebhook(ctx.env.WEBHOOK_SECRET, signedFor, ts, payload) } });
          for (const c of random.shuffle(cases)) {
            const res = await send(ctx, c.d);
            expectRejected(res, `An event must be rejected with 400 or 401 when ${c.what}.`);
          }
          await expectBalance(ctx, acc, 0, 'Rejected events must not change the balance.');
          const ok = await send(ctx, { id: messageId(random), timestamp: now(), payload });
          expectAccepted(ok, 'The same event, correctly signed, must then be accepted.');
          await expectBalance(ctx, acc, amount, 'The correctly signed event must be applied.');
        },
      },
      {
        id: 'raw-body',
        title: 'The signature is checked over the raw bytes (odd whitespace, key order, escapes still verify)',
        hint: 'Verify the exact bytes you received before parsing: JSON.stringify(JSON.parse(body)) is not the body the sender signed. In Express, use express.raw() (or the `verify` option) on the webhook route.',
        async run(ctx) {
          const { random } = ctx;
          const acc = account(random);
          const amount = random.int(100, 9999);
          const payload =
            `{\n  "data" : { "amount":  ${amount} ,"account":"${acc}",\t"note": "caf\\u00e9 \\/ ${random.word()} ✓" },\n` +
            `\t"type":"account.credited" , "timestamp": "${new Date().toISOString()}"   }\n`;
          const res = await send(ctx, { id: messageId(random), timestamp: now(), payload });
          expectAccepted(res, 'This event is validly signed over its exact bytes (with their spaces, tabs, newlines and \\u escapes), so it must be accepted.');
          await expectBalance(ctx, acc, amount, 'The event must be applied.');
        },
      },
      {
        id: 'rejects-stale',
        title: 'Timestamps more than 5 minutes away are rejected; within tolerance they are accepted',
        hint: 'webhook-timestamp is in seconds since the epoch: reject when |now - timestamp| > 300 (it stops replays of old captured requests).',
        async run(ctx) {
          const { random } = ctx;
          const acc = account(random);
          const amount = random.int(100, 9999);
          const payload = creditEvent(acc, amount);
          for (const [offset, what] of [
            [-random.int(600, 3600), 'old'],
            [random.int(600, 3600), 'in the future'],
          ] as const) {
            const res = await send(ctx, { id: messageId(random), timestamp: now() + offset, payload });
            expectRejected(res, `A correctly signed event whose webhook-timestamp is ${Math.abs(offset)} s ${what} must be rejected (400 or 401): the tolerance is 5 minutes.`);
          }
          await expectBalance(ctx, acc, 0, 'Rejected events must not change the balance.');
          const skew = random.int(60, 150);
          const ok = await send(ctx, { id: messageId(random), timestamp: now() - skew, payload });
          expectAccepted(ok, `An event signed ${skew} s ago is within the 5-minute tolerance and must be accepted.`);
          await expectBalance(ctx, acc, amount, 'The event within tolerance must be applied.');
        },
      },
      {
        id: 'multiple-signatures',
        title: 'Any matching v1 entry in a space-separated webhook-signature is enough',
        hint: 'During a secret rotation the header carries several entries: split it on spaces, split each entry at the first comma, ignore versions other than v1, and accept if any one matches.',
        async run(ctx) {
          const { random } = ctx;
          const acc = account(random);
          const bogus = () => `v1,${Buffer.from(random.string(32)).toString('base64')}`;
          let expected = 0;
          const layouts: { what: string; make: (good: string) => string; accept: boolean }[] = [
            { what: 'a stale signature first, the valid one second', make: (good) => `${bogus()} ${good}`, accept: true },
            { what: 'the valid one first, a stale one second', make: (good) => `${good} ${bogus()}`, accept: true },
            { what: 'an entry of another version (v1a) first, the valid v1 second', make: (good) => `v1a,${Buffer.from(random.string(64)).toString('base64')} ${good}`, accept: true },
            { what: 'two entries, neither valid', make: () => `${bogus()} ${bogus()}`, accept: false },
          ];
          for (const l of random.shuffle(layouts)) {
            const amount = random.int(100, 9999);
            const id = messageId(random);
            const ts = now();
            const payload = creditEvent(acc, amount);
            const good = await signWebhook(ctx.env.WEBHOOK_SECRET, id, ts, payload);
            const res = await send(ctx, { id, timestamp: ts, payload, signature: l.make(good) });
            if (l.accept) {
              expectAccepted(res, `webhook-signature with ${l.what} must be accepted: one matching v1 entry is enough.`);
              expected += amount;
            } else {
              expectRejected(res, `webhook-signature with ${l.what} must be rejected (400 or 401).`);
            }
          }
          await expectBalance(ctx, acc, expected, 'Exactly the accepted events must be applied.');
        },
      },
      {
        id: 'duplicate-once',
        title: 'A redelivered webhook-id is acknowledged but applied once',
        hint: 'Senders retry, so the same message can arrive twice (re-signed with a new timestamp): remember processed webhook-ids, answer 2xx for a repeat, and do not apply it again. Deduplicate by id, not by body.',
        async run(ctx) {
          const { random } = ctx;
          const acc = account(random);
          const amount = random.int(100, 9999);
          const payload = creditEvent(acc, amount);
          const id = messageId(random);
          const first = await send(ctx, { id, timestamp: now() - random.int(5, 30), payload });
          expectAccepted(first, 'A valid event must be acknowledged.');
          const retry = await send(ctx, { id, timestamp: now(), payload });
          expectAccepted(retry, 'A redelivery of an already processed message (same webhook-id, new timestamp and signature) must still be acknowledged with 2xx, or the sender keeps retrying.');
          await expectBalance(ctx, acc, amount, `The message ${id} was delivered twice: it must be applied once.`);
          const other = await send(ctx, { id: messageId(random), timestamp: now(), payload });
          expectAccepted(other, 'Another message (new webhook-id) with the same body must be accepted.');
          await expectBalance(ctx, acc, 2 * amount, 'A different webhook-id is a different message, even with the same body: it must be applied.');
        },
      },
      {
        id: 'duplicate-concurrent',
        title: 'The same webhook-id sent 10 times at once is applied once',
        hint: 'Check-then-act is a race when applying takes time: claim the id before the first await (a Set/Map entry, or a unique constraint in a database), answer 409 or 2xx to the others, and release the claim if applying fails.',
        async run(ctx) {
          const { random } = ctx;
          for (let round = 0; round < 2; round++) {
            const acc = account(random);
            const amount = random.int(100, 9999);
            const payload = creditEvent(acc, amount);
            const id = messageId(random);
            const ts = now();
            // Signed first, then sent on connections opened beforehand and released together.
            const signed = await Promise.all(Array.from({ length: 10 }, async (_, i) => ({ 'Content-Type': 'application/json', ...(await webhookHeaders(ctx.env.WEBHOOK_SECRET, id, ts - (i % 3), payload)) })));
            const { responses: results, timing } = await ctx.http.simultaneous(10, (i) => ({ path: '/webhooks', method: 'POST', body: payload, headers: signed[i] }));
            ctx.note(describeTiming(timing));
            const responses = results.map((r) => {
              if (r.status === 'rejected') throw r.reason;
              return r.value;
            });
            for (const res of responses) res.expectStatus([...ACCEPTED, 409], 'Concurrent copies of one message must each get a 2xx (or 409 while the first is still being processed).');
            expectThat(responses.some((r) => ACCEPTED.includes(r.status)), 'At least one copy must be acknowledged with 2xx.', {
              received: responses.map((r) => `HTTP ${r.status}`).join(', '),
            });
            await expectBalance(ctx, acc, amount, `The message ${id} arrived 10 times at once: it must be applied exactly once.`);
          }
        },
      },
      {
        id: 'delivers-signed',
        title: 'POST /events delivers a signed Standard Webhooks message to DELIVERY_URL, once on 2xx',
        hint: 'Build {"type","timestamp","data"}, sign "<id>.<timestamp>.<body>" with DELIVERY_SECRET, POST it with webhook-id/webhook-timestamp/webhook-signature, and treat every 2xx (200, 202, 204...) as delivered.',
        timeoutMs: 20_000,
        async run(ctx) {
          const ep = endpoint(ctx);
          const base = baseMs(ctx);
          const refs = [ctx.random.string(12), ctx.random.string(12)];
          const scenarios = [ep.expect(refs[0], [204]), ep.expect(refs[1], [202])];
          const sent = [await publish(ctx, refs[0]), await publish(ctx, refs[1])];
          expectThat(sent[0].id !== sent[1].id, 'Two events got the same message id: every message needs its own webhook-id.', { received: `${sent[0].id} and ${sent[1].id}` });
          for (let i = 0; i < 2; i++) {
            const attempts = await ep.waitFor(scenarios[i], 1, 5000, ctx.signal);
            if (attempts.length === 0) noDelivery(ep, sent[i]);
            await expectValidDelivery(ctx, ep, sent[i], attempts, 0);
          }
          await ctx.sleep(2 * base + 400);
          for (let i = 0; i < 2; i++) {
            const attempts = scenarios[i].attempts;
            if (attempts.length !== 1) {
              failWith(`${sent[i].id} was delivered ${attempts.length} times although the first attempt got HTTP ${scenarios[i].answers[0]}: any 2xx means delivered, never retry it.`, attempts, 'exactly one delivery', sent[i]);
            }
          }
        },
      },
      {
        id: 'retries-with-backoff',
        title: 'A 5xx is retried with growing delays, same id, freshly signed each time',
        hint: 'On a non-2xx answer wait DELIVERY_RETRY_BASE_MS, then twice as long, then four times (exponential backoff), re-sending the same message (same webhook-id, same body) with a new timestamp and signature.',
        timeoutMs: 20_000,
        async run(ctx) {
          const ep = endpoint(ctx);
          const base = baseMs(ctx);
          const ref = ctx.random.string(12);
          const answers = [500, 502, 503, 200];
          const scenario = ep.expect(ref, answers);
          const sent = await publish(ctx, ref);
          let attempts = await ep.waitFor(scenario, 1, 5000, ctx.signal);
          if (attempts.length === 0) noDelivery(ep, sent);
          for (let k = 1; k < answers.length; k++) {
            const previous = attempts[k - 1];
            const wait = base * 2 ** (k - 1);
            const deadline = previous.answeredAt! + 4 * wait + 2000;
            attempts = await ep.waitFor(scenario, k + 1, deadline - performance.now(), ctx.signal);
            if (attempts.length <= k) {
              failWith(`Attempt ${k} got HTTP ${previous.answer}, but no retry arrived within ${Math.round(deadline - previous.answeredAt!)} ms (DELIVERY_RETRY_BASE_MS = ${base}, so retry ${k} is due after about ${wait} ms).`, attempts, `attempt ${k + 1} about ${wait} ms after attempt ${k}`, sent);
            }
            const gap = attempts[k].at - previous.answeredAt!;
            const minimum = 0.8 * wait;
            if (gap < minimum) {
              failWith(
                `Retry ${k} arrived ${Math.round(gap)} ms after attempt ${k} failed; with DELIVERY_RETRY_BASE_MS = ${base} it must wait about ${wait} ms (base * 2^${k - 1}): the delays must grow.`,
                attempts,
                `gaps of about ${base}, ${2 * base}, ${4 * base} ms`,
                sent,
              );
            }
          }
          for (let k = 0; k < attempts.length; k++) await expectValidDelivery(ctx, ep, sent, attempts, k);
          const bodies = attempts.map((a) => JSON.parse(a.request.body.toString('utf8')));
          expectThat(bodies.every((b) => isDeepStrictEqual(b, bodies[0])), 'Every attempt must carry the same message (the same body).', {
            received: attempts.map((a, i) => `attempt ${i + 1}: ${a.request.body.toString('utf8').slice(0, 300)}`).join('\n'),
          });
        },
      },
      {
        id: 'retries-timeouts',
        title: 'An attempt with no answer times out after DELIVERY_TIMEOUT_MS and is retried with a fresh timestamp',
        hint: 'Give each attempt a deadline (fetch with AbortSignal.timeout(DELIVERY_TIMEOUT_MS)), count a timeout as a failure, and compute webhook-timestamp and the signature anew for every attempt, so a retry is never "stale".',
        timeoutMs: 20_000,
        async run(ctx) {
          const ep = endpoint(ctx);
          const base = baseMs(ctx);
          const timeout = Number(ctx.env.DELIVERY_TIMEOUT_MS);
          const ref = ctx.random.string(12);
          const scenario = ep.expect(ref, ['hang', 200]);
          try {
            const sent = await publish(ctx, ref);
            let attempts = await ep.waitFor(scenario, 1, 5000, ctx.signal);
            if (attempts.length === 0) noDelivery(ep, sent);
            const budget = timeout + 4 * base + 2000;
            attempts = await ep.waitFor(scenario, 2, attempts[0].at + budget - performance.now(), ctx.signal);
            if (attempts.length < 2) {
              failWith(`The grader never answered attempt 1; with DELIVERY_TIMEOUT_MS = ${timeout} your sender must give up on it and retry, but no retry arrived within ${budget} ms.`, attempts, `attempt 2 about ${timeout + base} ms after attempt 1`, sent);
            }
            const gap = attempts[1].at - attempts[0].at;
            if (gap < 0.75 * timeout) {
              failWith(`Attempt 2 arrived ${Math.round(gap)} ms after attempt 1, before DELIVERY_TIMEOUT_MS (${timeout} ms) was over: wait for the timeout before counting an attempt as failed.`, attempts, undefined, sent);
            }
            await expectValidDelivery(ctx, ep, sent, attempts, 1);
            const t1 = Number(attempts[0].request.headers['webhook-timestamp']);
            const t2 = Number(attempts[1].request.headers['webhook-timestamp']);
            if (!(t2 > t1)) {
              failWith(`Attempt 2 was sent more than ${(timeout / 1000).toFixed(1)} s after attempt 1 but carries webhook-timestamp ${t2} (attempt 1: ${t1}): every attempt needs the current time and a signature made with it.`, attempts, `webhook-timestamp > ${t1}`, sent);
            }
            expectEqual(attempts[1].request.headers['webhook-id'], attempts[0].request.headers['webhook-id'], 'A retry must keep the webhook-id of the first attempt.');
          } finally {
            for (const res of scenario.hung) res.destroy();
          }
        },
      },
      {
        id: 'stops-on-410',
        title: '410 Gone stops the retries',
        hint: '410 means the subscriber removed this endpoint: stop retrying (and, in a real system, disable the endpoint). Every other non-2xx is retried.',
        timeoutMs: 20_000,
        async run(ctx) {
          const ep = endpoint(ctx);
          const base = baseMs(ctx);
          const ref = ctx.random.string(12);
          const scenario = ep.expect(ref, [410]);
          const sent = await publish(ctx, ref);
          const attempts = await ep.waitFor(scenario, 1, 5000, ctx.signal);
          if (attempts.length === 0) noDelivery(ep, sent);
          await expectValidDelivery(ctx, ep, sent, attempts, 0);
          await ctx.sleep(2 * base + 400);
          if (scenario.attempts.length !== 1) {
            failWith(`The first attempt got 410 Gone, yet ${sent.id} was delivered ${scenario.attempts.length} times: stop retrying on 410.`, scenario.attempts, 'exactly one delivery', sent);
          }
        },
      },
    ],
  },
  import.meta.dirname,
);
