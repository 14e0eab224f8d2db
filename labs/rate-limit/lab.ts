import {
  CheckFailure,
  defineLab,
  describeTiming,
  expectJson,
  expectProblem,
  expectSfList,
  expectThat,
  parseSfList,
  showSfValue,
  type CheckContext,
  type FailureDetails,
  type HttpResponse,
  type SfMember,
} from '../../grader/index.ts';

// --- the lab's parameters ----------------------------------------------------------------------------

interface Limits {
  /** RATE_LIMIT: requests per client per window. */
  L: number;
  /** RATE_WINDOW_MS. */
  W: number;
  /** The window in whole seconds, rounded up (the `w` of RateLimit-Policy). */
  w: number;
}

function limits(ctx: CheckContext): Limits {
  const L = Number(ctx.env.RATE_LIMIT);
  const W = Number(ctx.env.RATE_WINDOW_MS);
  return { L, W, w: Math.ceil(W / 1000) };
}

const now = () => performance.now();

function newClient(ctx: CheckContext, tag: string): string {
  return `${tag}-${ctx.random.string(10)}`;
}

function quote(ctx: CheckContext, client: string, newConnection = false): Promise<HttpResponse> {
  return ctx.http.get('/api/quote', { headers: { 'X-Client-Id': client }, newConnection });
}

/** Lets real time pass until `t` (performance.now() clock); never returns early. */
async function until(ctx: CheckContext, t: number): Promise<void> {
  for (let d = t - now(); d > 0; d = t - now()) await ctx.sleep(Math.ceil(d));
}

function expectAllowedOrLimited(res: HttpResponse, client: string): void {
  expectThat(res.status === 200 || res.status === 429, `GET /api/quote must answer 200 (allowed) or 429 (limited), got ${res.status}.`, {
    expected: `HTTP 200 or 429 for client ${client}`,
    res,
  });
}

function expectQuote(res: HttpResponse): void {
  const body = expectJson(res, 200, 'An allowed GET /api/quote answers 200 with a JSON quote.');
  expectThat(typeof body?.quote === 'string' && body.quote !== '', 'The 200 body must be a JSON object with a non-empty `quote` string.', {
    expected: '{"quote": "...", ...}',
    res,
  });
}

interface Spend {
  accepted: HttpResponse[];
  /** The first 429, if one came within `max` requests. */
  limited?: HttpResponse;
  /** performance.now() when the first request was sent / the last answer arrived. */
  startedAt: number;
  endedAt: number;
  /** Send time of the 429. */
  limitedSentAt?: number;
}

/** Sends requests one after the other until the first 429 (or `max` requests). */
async function spend(ctx: CheckContext, client: string, max: number): Promise<Spend> {
  const out: Spend = { accepted: [], startedAt: now(), endedAt: 0 };
  for (let i = 0; i < max; i++) {
    const sentAt = now();
    const res = await quote(ctx, client);
    out.endedAt = now();
    expectAllowedOrLimited(res, client);
    if (res.status === 429) {
      out.limited = res;
      out.limitedSentAt = sentAt;
      break;
    }
    out.accepted.push(res);
  }
  return out;
}

/** How many extra requests a token bucket (or sliding counter) may legitimately refill in `ms`. */
function refill(l: Limits, ms: number): number {
  return Math.floor((l.L * ms) / l.W);
}

/**
 * A count that should be exactly `exact` came out higher. Up to `refill + 1` too many can be timing (a token
 * refilled during a slow burst, or the burst straddled a sliding counter's sub-window edge): 'retry' with a
 * fresh client; such a result is never accepted as a pass. More than that no correct limiter produces: 'fail'.
 */
function excess(actual: number, exact: number, l: Limits, elapsedMs: number): 'retry' | 'fail' {
  return actual <= exact + refill(l, elapsedMs) + 1 ? 'retry' : 'fail';
}

// Some outcomes can be explained by timing on a loaded machine (a refill during a slow burst, a burst that
// straddles a sliding counter's sub-window, a sleep that overshot): those are retried with a fresh client.
// A result that no correct limiter can produce fails at once.
class Retry extends Error {
  /**
   * @param refillExplains set when a refilling limiter (token bucket, sliding log) admits exactly this many in
   * the time the attempt took: if every attempt is like that, the server is too slow for a burst to tell a
   * refill from a bug, and the check passes with a note instead of failing a correct server.
   */
  constructor(
    readonly details: FailureDetails,
    readonly refillExplains?: string,
  ) {
    super(details.message);
  }
}

async function attempts(ctx: CheckContext, n: number, body: (attempt: number) => Promise<void>): Promise<void> {
  let last: Retry | undefined;
  const explained: string[] = [];
  for (let attempt = 1; attempt <= n; attempt++) {
    try {
      await body(attempt);
      return;
    } catch (err) {
      if (!(err instanceof Retry)) throw err;
      last = err;
      if (err.refillExplains) explained.push(err.refillExplains);
      if (attempt < n) ctx.note(`attempt ${attempt} inconclusive (${err.details.message.split(':')[0]}), trying again with a fresh client`);
    }
  }
  if (explained.length === n) {
    ctx.note(`every attempt admitted a little more than RATE_LIMIT, and no more than a refilling limiter may while the burst lasted (${explained.join('; ')}): accepted as refill, not a race`);
    return;
  }
  throw new CheckFailure({ ...last!.details, message: `${last!.details.message} (the same in ${n} attempts, each with a fresh client)` });
}

/** The member named "default" of a RateLimit / RateLimit-Policy list, which must be a String. */
function defaultMember(list: SfMember[], res: HttpResponse, header: string, example: string): SfMember {
  const member = list.find((m) => m.text === 'default');
  expectThat(member !== undefined, `The \`${header}\` header must contain an item named "default".`, {
    expected: `${header}: ${example}`,
    received: `${header}: ${res.header(header)}`,
    res,
  });
  expectThat(!member.isToken, `In \`${header}\` the policy name is a String: write "default" with double quotes (without them it is a Token).`, {
    expected: `${header}: ${example}`,
    received: `${header}: ${res.header(header)}`,
    res,
  });
  return member;
}

function intParam(member: SfMember, key: string, header: string, res: HttpResponse, example: string, min = 0): number {
  const v = member.params[key];
  expectThat(typeof v === 'number' && Number.isInteger(v) && v >= min, `In \`${header}\` the \`${key}\` parameter must be an integer${min > 0 ? ` of at least ${min}` : ' (0 or more)'}; got ${v === undefined ? 'none' : showSfValue(v)}.`, {
    expected: `${header}: ${example}`,
    received: `${header}: ${res.header(header)}`,
    res,
  });
  return v as number;
}

interface RateLimitValues {
  r: number;
  t: number;
}

/** Parses RateLimit-Policy (checking q and w) and RateLimit (returning r and t) with a structured-field parser. */
function readHeaders(res: HttpResponse, l: Limits): RateLimitValues {
  const policyExample = `"default";q=${l.L};w=${l.w}`;
  const policy = defaultMember(expectSfList(res, 'RateLimit-Policy', 'Every response of /api/quote must carry a `RateLimit-Policy` header.', policyExample), res, 'RateLimit-Policy', policyExample);
  const q = intParam(policy, 'q', 'RateLimit-Policy', res, policyExample);
  const w = intParam(policy, 'w', 'RateLimit-Policy', res, policyExample, 1);
  expectThat(q === l.L, `RateLimit-Policy \`q\` is the quota: RATE_LIMIT (${l.L}).`, { expected: `RateLimit-Policy: ${policyExample}`, received: `RateLimit-Policy: ${res.header('ratelimit-policy')}`, res });
  expectThat(w === l.w, `RateLimit-Policy \`w\` is the window in whole seconds: RATE_WINDOW_MS / 1000 rounded up (${l.W} ms -> ${l.w}).`, {
    expected: `RateLimit-Policy: ${policyExample}`,
    received: `RateLimit-Policy: ${res.header('ratelimit-policy')}`,
    res,
  });
  const rlExample = `"default";r=<remaining>;t=<seconds>`;
  const rl = defaultMember(expectSfList(res, 'RateLimit', 'Every response of /api/quote must carry a `RateLimit` header.', rlExample), res, 'RateLimit', rlExample);
  const r = intParam(rl, 'r', 'RateLimit', res, rlExample);
  const t = intParam(rl, 't', 'RateLimit', res, rlExample);
  expectThat(t <= l.w, `RateLimit \`t\` (seconds until the quota goes up again) can never exceed the window (${l.w} s); got ${t}.`, {
    expected: `RateLimit: "default";r=...;t=<0..${l.w}>`,
    received: `RateLimit: ${res.header('ratelimit')}`,
    res,
  });
  return { r, t };
}

/** Retry-After as delta-seconds, if it is one. */
function retryAfter(res: HttpResponse): number | undefined {
  const v = res.header('retry-after')?.trim();
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

// --- the lab -----------------------------------------------------------------------------------------

export default defineLab(
  {
    id: 'rate-limit',
    title: 'Rate limiting: a per-client sliding window',
    track: 'security',
    summary: 'Limit each client of GET /api/quote to RATE_LIMIT requests per RATE_WINDOW_MS: 429 with Retry-After, the IETF RateLimit headers, atomic under concurrency, and no double burst at a window edge.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [16, 15],
    env: {
      RATE_LIMIT: {
        description: 'L: how many requests each client (X-Client-Id) may make per window. The grader picks 4 to 8.',
        value: (r) => String(r.int(4, 8)),
      },
      RATE_WINDOW_MS: {
        description: 'W: the window in milliseconds. The grader picks 1500 to 1700 so a run takes seconds.',
        value: (r) => String(r.pick([1500, 1550, 1600, 1650, 1700])),
      },
    },
    checks: [
      {
        id: 'limit-then-429',
        title: 'A client gets RATE_LIMIT requests, then 429',
        hint: 'Count each client\'s requests (key: the X-Client-Id header) and answer 429 Too Many Requests once it has used RATE_LIMIT in the window.',
        async run(ctx) {
          const l = limits(ctx);
          await attempts(ctx, 3, async () => {
            const client = newClient(ctx, 'first');
            const s = await spend(ctx, client, 2 * l.L + 2);
            if (s.accepted.length > 0) expectQuote(s.accepted[0]);
            const n = s.accepted.length;
            const shown = s.limited ?? s.accepted[s.accepted.length - 1];
            expectThat(n >= l.L, `A new client must get ${l.L} requests through (RATE_LIMIT=${l.L}), but request ${n + 1} was already refused.`, {
              expected: `${l.L} x HTTP 200, then 429`,
              received: `${n} x HTTP 200, then 429`,
              res: shown,
            });
            if (n > l.L) {
              const failure = {
                message: s.limited
                  ? `Client ${client} got ${n} requests through in a row; with RATE_LIMIT=${l.L} request ${l.L + 1} must be answered 429`
                  : `Client ${client} sent ${n} requests in a row and none was refused: with RATE_LIMIT=${l.L} request ${l.L + 1} must be answered 429`,
                expected: `${l.L} x HTTP 200, then HTTP 429`,
                received: `${n} x HTTP 200${s.limited ? ', then HTTP 429' : ''}`,
                exchange: s.accepted[l.L].exchange,
              };
              if (excess(n, l.L, l, s.endedAt - s.startedAt) === 'retry') throw new Retry(failure);
              throw new CheckFailure(failure);
            }
            if (!s.limited) throw new Retry({ message: `Client ${client} was never refused`, expected: 'HTTP 429', exchange: shown.exchange });
          });
        },
      },
      {
        id: 'clients-independent',
        title: 'Each X-Client-Id has its own limit',
        hint: 'Key the limiter by the X-Client-Id header (not the IP address, not one global counter): one client using its quota must not affect another.',
        async run(ctx) {
          const l = limits(ctx);
          const a = newClient(ctx, 'alice');
          const b = newClient(ctx, 'bob');
          const s = await spend(ctx, a, 2 * l.L + 2);
          expectThat(s.limited, `Client ${a} sent ${s.accepted.length} requests in a row and was never refused.`, { expected: 'HTTP 429', res: s.accepted[s.accepted.length - 1] });
          for (let i = 1; i <= l.L; i++) {
            const res = await quote(ctx, b);
            expectThat(res.status === 200, `Client ${b} had sent nothing before, yet its request ${i} was refused right after client ${a} used up its own quota: limits must be per X-Client-Id.`, {
              expected: `HTTP 200 for each of ${b}'s first ${l.L} requests`,
              res,
            });
          }
        },
      },
      {
        id: 'ratelimit-headers',
        title: 'RateLimit-Policy and RateLimit headers (IETF draft) count down',
        hint: 'Send `RateLimit-Policy: "default";q=<L>;w=<window s>` and `RateLimit: "default";r=<remaining>;t=<seconds>` on every response; r counts the request just made.',
        async run(ctx) {
          const l = limits(ctx);
          await attempts(ctx, 3, async () => {
            const client = newClient(ctx, 'headers');
            const startedAt = now();
            for (let i = 1; i <= l.L; i++) {
              const res = await quote(ctx, client);
              expectThat(res.status === 200, `Request ${i} of a new client must be allowed (RATE_LIMIT=${l.L}).`, { expected: 'HTTP 200', res });
              const { r } = readHeaders(res, l);
              const exact = l.L - i;
              const failure = {
                message: `After request ${i} of ${l.L}, RateLimit \`r\` (remaining) must be ${exact}: it counts down by one per request, including this one`,
                expected: `RateLimit: "default";r=${exact};t=...`,
                received: `RateLimit: ${res.header('ratelimit')}`,
                exchange: res.exchange,
              };
              if (r < exact) throw new CheckFailure({ ...failure, message: `${failure.message}.` });
              if (r > exact) {
                if (excess(r, exact, l, now() - startedAt) === 'retry') throw new Retry(failure);
                throw new CheckFailure({ ...failure, message: `${failure.message}.` });
              }
            }
            const s = await spend(ctx, client, l.L + 2);
            if (!s.limited) throw new Retry({ message: `Client ${client} was not refused after ${l.L} requests`, expected: 'HTTP 429', exchange: s.accepted[s.accepted.length - 1]?.exchange });
            const res = s.limited;
            const { r, t } = readHeaders(res, l);
            expectThat(r === 0 && t >= 1, 'A 429 carries the headers too, with `r=0` (nothing left) and `t` of at least 1 (seconds until the quota comes back).', {
              expected: `RateLimit: "default";r=0;t=<1..${l.w}>`,
              received: `RateLimit: ${res.header('ratelimit')}`,
              res,
            });
          });
        },
      },
      {
        id: 'concurrency',
        title: '3 x RATE_LIMIT parallel requests: exactly RATE_LIMIT succeed',
        hint: 'Check and count in one atomic step: no `await` between reading the count and recording the request (with Redis: one INCR or a Lua script, not GET then SET).',
        timeoutMs: 20_000,
        async run(ctx) {
          const l = limits(ctx);
          await attempts(ctx, 3, async () => {
            const client = newClient(ctx, 'burst');
            const n = 3 * l.L;
            // Every connection is opened (and accepted) first, then the n requests leave together: a server
            // with a small listen backlog is not blamed for SYNs the kernel retried a second later.
            const { responses: settled, timing } = await ctx.http.simultaneous(n, () => ({ path: '/api/quote', headers: { 'X-Client-Id': client } }));
            const spread = describeTiming(timing);
            ctx.note(spread);
            const elapsed = timing.spreadMs;
            const responses: HttpResponse[] = [];
            for (const s of settled) {
              if (s.status === 'rejected') throw s.reason;
              responses.push(s.value);
            }
            for (const res of responses) expectAllowedOrLimited(res, client);
            const ok = responses.filter((r) => r.status === 200);
            const details = {
              expected: `exactly ${l.L} x HTTP 200 and ${n - l.L} x HTTP 429${refill(l, elapsed) > 0 ? ` (a token bucket may refill ${refill(l, elapsed)} more in the ${elapsed} ms the burst took)` : ''}`,
              received: `${ok.length} x HTTP 200 and ${n - ok.length} x HTTP 429\nTiming: ${spread}`,
            };
            expectThat(ok.length >= l.L, `${n} requests from a new client released at the same moment (each on its own connection): exactly ${l.L} must succeed, but only ${ok.length} did.`, {
              ...details,
              res: responses.find((r) => r.status === 429),
            });
            if (ok.length > l.L) {
              const failure = {
                message: `${n} requests from a new client released at the same moment (each on its own, already open connection; the last answer came ${elapsed} ms after the release): exactly ${l.L} must succeed, but ${ok.length} did. ${
                  ok.length === l.L + 1
                    ? 'One too many: an off-by-one (`<=` instead of `<`), or a race between reading the count and recording the request'
                    : 'Requests that arrive together all read the count before any of them records itself: check and count must be one atomic step (a fixed window aligned to the clock can also let up to twice the limit through when a burst straddles its edge)'
                }`,
                ...details,
                exchange: ok[ok.length - 1].exchange,
              };
              const refilled = refill(l, elapsed);
              if (excess(ok.length, l.L, l, elapsed) === 'retry') {
                throw new Retry(failure, ok.length <= l.L + refilled ? `${ok.length} of ${n} admitted over ${elapsed} ms, time for ${refilled} more token(s) at ${l.L} per ${l.W} ms` : undefined);
              }
              throw new CheckFailure(failure);
            }
          });
        },
      },
      {
        id: 'retry-after',
        title: 'The 429 carries Retry-After in seconds and a problem+json body',
        hint: 'On 429 send `Retry-After: <whole seconds until the client may retry, rounded up>` and an application/problem+json body with "status": 429.',
        async run(ctx) {
          const l = limits(ctx);
          const client = newClient(ctx, 'retry');
          const s = await spend(ctx, client, 2 * l.L + 2);
          expectThat(s.limited, `Client ${client} sent ${s.accepted.length} requests in a row and was never refused.`, { expected: 'HTTP 429', res: s.accepted[s.accepted.length - 1] });
          const res = s.limited;
          const raw = res.expectHeader('retry-after', undefined, 'A 429 must tell the client how long to wait, in a `Retry-After` header.');
          const ra = retryAfter(res);
          expectThat(ra !== undefined && ra >= 1 && ra <= l.w, `Retry-After must be whole seconds (delta-seconds) from 1 to ${l.w}: the time until the client's quota comes back, rounded up (the window is ${l.W} ms, so never more than ${l.w}; 0 would invite an immediate retry that fails).`, {
            expected: `Retry-After: <1..${l.w}>`,
            received: `Retry-After: ${raw}`,
            res,
          });
          const problem = expectProblem(res, 429, 'A refused request is 429 Too Many Requests.');
          for (const member of ['title', 'detail'] as const) {
            expectThat(typeof problem[member] === 'string' && problem[member] !== '', `The 429 problem object must have a non-empty \`${member}\` string.`, {
              expected: '{"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": "..."}',
              res,
            });
          }
          // If RateLimit is readable, Retry-After must not be earlier than its effective window t.
          let t: number | undefined;
          try {
            const member = parseSfList(res.header('ratelimit') ?? '').find((m) => m.text === 'default');
            if (typeof member?.params.t === 'number') t = member.params.t;
          } catch {
            t = undefined;
          }
          if (t !== undefined) {
            expectThat(ra >= t, `Retry-After (${ra}) is earlier than the RateLimit \`t\` (${t}) of the same response: both say when the quota comes back, and Retry-After must not be the sooner one.`, {
              expected: `Retry-After >= ${t}`,
              received: `Retry-After: ${raw}\nRateLimit: ${res.header('ratelimit')}`,
              res,
            });
          }
        },
      },
      {
        id: 'recovers',
        title: 'After waiting Retry-After seconds the client is allowed again',
        hint: 'Forget requests older than the window (or refill tokens over time), and round Retry-After up: a client that waits exactly that long must get through.',
        timeoutMs: 15_000,
        async run(ctx) {
          const l = limits(ctx);
          const client = newClient(ctx, 'patient');
          const s = await spend(ctx, client, 2 * l.L + 2);
          expectThat(s.limited, `Client ${client} sent ${s.accepted.length} requests in a row and was never refused.`, { expected: 'HTTP 429', res: s.accepted[s.accepted.length - 1] });
          const ra = retryAfter(s.limited);
          const honest = ra !== undefined && ra >= 1 && ra <= l.w;
          const wait = honest ? ra : l.w;
          ctx.note(`limited; waiting ${wait} s (${honest ? 'its Retry-After' : 'the window, rounded up'})`);
          await ctx.sleep(wait * 1000 + 50);
          const res = await quote(ctx, client);
          expectThat(res.status === 200, honest
            ? `Client ${client} was refused, waited the ${wait} s its Retry-After asked for, and was refused again: once its requests have left the window it must get through (and Retry-After must not be shorter than the real wait).`
            : `Client ${client} was refused, waited ${wait} s (the whole window, rounded up), and was refused again: requests older than the window must stop counting.`, {
            expected: 'HTTP 200',
            res,
          });
        },
      },
      {
        id: 'window-edge',
        title: 'No double burst at a window edge (sliding window or token bucket)',
        hint: 'A fixed window resets all at once, so 2 x RATE_LIMIT requests pass around its edge. Use a sliding window log (keep the times of accepted requests, count those newer than now - W), a sliding window counter, or a token bucket.',
        timeoutMs: 45_000,
        async run(ctx) {
          const l = limits(ctx);
          const probeEveryMs = 20;
          const after = Math.round(0.1 * l.W); // try again this long after the (fixed) edge
          const budget = Math.floor((l.W * (l.L - 1)) / l.L) - 50; // longest span in which no correct limiter refills L
          await attempts(ctx, 3, async (attempt) => {
            const client = newClient(ctx, `edge${attempt}`);
            const retryTiming = (what: string) =>
              new Retry({
                message: `Inconclusive: the grader could not time its requests precisely enough (${what}); the machine seems overloaded. Run the check again`,
              });

            // 1. Use up the quota, then probe until the first request gets through again: a fixed window
            //    has just started (somewhere between the last refused probe and this accepted one).
            const first = await spend(ctx, client, 2 * l.L + 2);
            expectThat(first.limited, `Client ${client} sent ${first.accepted.length} requests in a row and was never refused.`, { expected: 'HTTP 429', res: first.accepted[first.accepted.length - 1] });
            if (first.endedAt - first.startedAt > l.W / 2) throw retryTiming(`${l.L + 1} requests took ${Math.round(first.endedAt - first.startedAt)} ms`);
            let lastRefusedSentAt = first.limitedSentAt!;
            let lastRefused = first.limited;
            let acceptedAt: number | undefined;
            const roundTrips: number[] = [];
            const giveUpAt = now() + 2 * l.W + 1000;
            while (acceptedAt === undefined) {
              if (now() > giveUpAt) {
                throw new CheckFailure({
                  message: `Client ${client} was refused for more than ${((2 * l.W + 1000) / 1000).toFixed(1)} s after using its quota, while the grader retried every ~${probeEveryMs} ms: it must get through again once its accepted requests leave the ${l.W} ms window (do refused requests count against the quota? they must not).`,
                  expected: 'HTTP 200 within the window',
                  received: `HTTP ${lastRefused.status}`,
                  exchange: lastRefused.exchange,
                  hint: 'Requests older than RATE_WINDOW_MS must stop counting, and refused (429) requests must never count: a client that keeps retrying while limited still gets through once its accepted requests leave the window.',
                });
              }
              await ctx.sleep(probeEveryMs);
              const sentAt = now();
              const res = await quote(ctx, client);
              roundTrips.push(now() - sentAt);
              expectAllowedOrLimited(res, client);
              if (res.status === 200) acceptedAt = now();
              else {
                lastRefusedSentAt = sentAt;
                lastRefused = res;
              }
            }

            // 2. Just before that fixed window would end, use up the quota again: early enough that the
            //    L + 1 requests (at the round-trip time measured while probing) finish before the edge.
            const rtt = roundTrips.sort((a, b) => a - b)[Math.floor(roundTrips.length * 0.9)] ?? 5;
            const before = Math.max(Math.round(0.3 * l.W), Math.round(acceptedAt - lastRefusedSentAt + (l.L + 1) * rtt + 100));
            await until(ctx, acceptedAt + l.W - before);
            const spentAt = now();
            const second = await spend(ctx, client, 2 * l.L + 2);
            if (!second.limited) {
              throw new CheckFailure({
                message: `Client ${client} got ${second.accepted.length} requests through in a row, less than ${((l.W - before) / 1000).toFixed(1)} s after it had been limited: it may make only ${l.L} per ${l.W} ms.`,
                expected: `at most ${l.L} x HTTP 200, then 429`,
                received: `${second.accepted.length} x HTTP 200`,
                exchange: second.accepted[second.accepted.length - 1].exchange,
              });
            }
            if (second.endedAt >= lastRefusedSentAt + l.W) throw retryTiming(`the requests before the edge were ${Math.round(second.endedAt - (lastRefusedSentAt + l.W - before))} ms late`);

            // 3. Just after the edge, try the whole quota again. A fixed window has reset and lets all of
            //    it through; a sliding window frees only the slot of the request from step 1, a token bucket
            //    or sliding counter refills about L x elapsed / W, always fewer than L here.
            await until(ctx, acceptedAt + l.W + after);
            const third: HttpResponse[] = [];
            for (let i = 0; i < l.L; i++) {
              const res = await quote(ctx, client);
              expectAllowedOrLimited(res, client);
              if (res.status !== 200) break;
              third.push(res);
            }
            const endedAt = now();
            if (endedAt - spentAt > budget) throw retryTiming(`the requests around the edge spread over ${Math.round(endedAt - spentAt)} ms instead of about ${before + after}`);
            if (third.length >= l.L) {
              throw new CheckFailure({
                message: `Client ${client} was limited, got 1 request through again, used up its quota again ${Math.round(spentAt - acceptedAt)} ms later (${second.accepted.length} allowed, then 429), and only ${Math.round(endedAt - second.endedAt)} ms after that got all ${third.length} requests of a new burst through. That is the fixed-window burst: the count resets at the window edge, so a client can send twice the limit in a moment. The contract asks for a sliding window or a token bucket, which give the quota back gradually.`,
                expected: `at most ${l.L - 1} of ${l.L} requests allowed ${after} ms after a fixed window's edge (a sliding log allows 1, a token bucket about ${Math.max(1, Math.round((l.L * (before + after)) / l.W))})`,
                received: [
                  `${'t=0 ms'.padEnd(12)}1 request allowed after being limited (a fixed window starts here)`,
                  `${`t=${Math.round(spentAt - acceptedAt)} ms`.padEnd(12)}${second.accepted.length} allowed, then 429`,
                  `${`t=${l.W + after} ms`.padEnd(12)}${third.length} of ${l.L} allowed`,
                ].join('\n'),
                exchange: third[third.length - 1].exchange,
              });
            }
          });
        },
      },
    ],
  },
  import.meta.dirname,
);
