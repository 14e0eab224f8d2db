// sessions: cookie sessions kept in Redis. The grader is a plain HTTP client with its own cookie store (no
// browser jar: a jar would drop the `Secure` cookie over plain http and hide what the server sent), and the
// only thing it reads of the implementation is where sessions live: one Redis key per session whose name
// starts with `sess:`. It finds a session's key by listing those keys before and after the login (so the
// key may be `sess:<id>`, or a hash of the id), then checks that logout and the idle timeout remove it.
import { CheckFailure, Cookies, defineLab, expectJson, expectSetCookie, expectThat, findSetCookie, isCookieRemoval, show, type CheckContext, type HttpResponse, type Random, twoAccounts } from '../../grader/index.ts';

interface User {
  username: string;
  password: string;
}

const COOKIE = 'sid';
const PREFIX = 'sess:';
const LOGIN_OK = [200, 204];
/** Logins in the uniqueness check, and how many run at once. */
const LOGINS = 200;
const AT_ONCE = 20;
/** The contract asks for 128 random bits; estimated over 200 ids, a good generator scores far above this. */
const MIN_BITS = 100;

function users(ctx: CheckContext): { alice: User; bob: User } {
  const [alice, bob] = JSON.parse(ctx.env.USERS) as User[];
  return { alice, bob };
}

function usersEnv(r: Random): string {
  return JSON.stringify(twoAccounts(r));
}

const idleMs = (ctx: CheckContext) => Number(ctx.env.SESSION_IDLE_TIMEOUT_SECONDS) * 1000;
const absoluteMs = (ctx: CheckContext) => Number(ctx.env.SESSION_ABSOLUTE_TIMEOUT_SECONDS) * 1000;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function postLogin(ctx: CheckContext, user: User, password = user.password, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return ctx.http.post('/login', { username: user.username, password }, { headers });
}

/** Logs in (optionally carrying a cookie already) and returns the new session cookie's value. */
async function login(ctx: CheckContext, user: User, headers: Record<string, string> = {}): Promise<{ sid: string; res: HttpResponse }> {
  const res = await postLogin(ctx, user, user.password, headers);
  res.expectStatus(LOGIN_OK, `POST /login as ${user.username} with the right password must succeed with 200 (or 204) and set the session cookie.`);
  const sid = expectSetCookie(res, COOKIE, `A successful login must set the session cookie: \`Set-Cookie: ${COOKIE}=<session id>; ...\`.`);
  expectThat(sid.value !== '', 'The session cookie set by the login is empty.', { expected: `Set-Cookie: ${COOKIE}=<session id>`, received: `Set-Cookie: ${sid.raw}`, res });
  return { sid: sid.value, res };
}

function me(ctx: CheckContext, sid: string | undefined): Promise<HttpResponse> {
  return ctx.http.get('/me', { headers: sid === undefined ? {} : new Cookies({ [COOKIE]: sid }).headers() });
}

async function expectMe(ctx: CheckContext, sid: string, user: User, why: string): Promise<void> {
  const res = await me(ctx, sid);
  const body = expectJson(res, 200, why);
  expectThat(body?.username === user.username, `GET /me must answer {"username": "${user.username}"} for ${user.username}'s session.`, { expected: `{"username": "${user.username}"}`, res });
}

async function expectNoSession(ctx: CheckContext, sid: string, why: string): Promise<void> {
  const res = await me(ctx, sid);
  res.expectStatus(401, why);
}

/** Every Redis key of the run's database that names a session (SCAN, so it never blocks Redis). */
async function sessionKeys(ctx: CheckContext): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await ctx.redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

const added = (before: Set<string>, after: Set<string>) => [...after].filter((k) => !before.has(k));

/** Logs in and finds the session's Redis key: the one `sess:*` key the login created. */
async function loginWithKey(ctx: CheckContext, user: User): Promise<{ sid: string; key: string; res: HttpResponse }> {
  const before = await sessionKeys(ctx);
  const { sid, res } = await login(ctx, user);
  const created = added(before, await sessionKeys(ctx));
  if (created.length !== 1) {
    throw new CheckFailure({
      message:
        created.length === 0
          ? `The login answered ${res.status} but no new Redis key starting with \`${PREFIX}\` appeared: sessions must live in Redis (REDIS_URL), one key \`${PREFIX}<id>\` per session, written before the login answers.`
          : `One login created ${created.length} Redis keys starting with \`${PREFIX}\`: the contract is exactly one key per session (other data needs another prefix).`,
      expected: `one new key ${PREFIX}<id> in the Redis database of REDIS_URL`,
      received: created.length === 0 ? `no new ${PREFIX}* key (${before.size} existed before the login)` : created.slice(0, 5).join('\n'),
      exchange: res.exchange,
      hint: `Store each session in Redis: SET ${PREFIX}<id> <session data> PX <idle timeout in ms>.`,
    });
  }
  return { sid, key: created[0], res };
}

/**
 * An id the server never issued, shaped like one it did: every run of 4+ id characters in the real value
 * (URL-decoded first, so a signed `s:<id>.<signature>` keeps its shape) is replaced by random characters.
 */
function forgeLike(real: string, random: Random): string {
  let decoded = real;
  try {
    decoded = decodeURIComponent(real);
  } catch {
    /* not percent-encoded */
  }
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let forged = decoded.replace(/[A-Za-z0-9_-]{4,}/g, (run) => random.string(run.length, alphabet));
  if (forged === decoded) forged = random.string(Math.max(decoded.length, 32), alphabet);
  return decoded === real ? forged : encodeURIComponent(forged);
}

/** Shannon entropy summed over character positions (a constant prefix/suffix such as `s:` scores 0). */
function estimateBits(ids: string[]): number {
  const commonPrefix = (xs: string[]) => {
    let n = 0;
    while (xs.every((x) => x.length > n && x[n] === xs[0][n])) n++;
    return n;
  };
  const p = commonPrefix(ids);
  const rest = ids.map((x) => x.slice(p));
  const s = commonPrefix(rest.map((x) => [...x].reverse().join('')));
  const cores = rest.map((x) => x.slice(0, x.length - s));
  const width = Math.max(0, ...cores.map((c) => c.length));
  let bits = 0;
  for (let i = 0; i < width; i++) {
    const counts = new Map<string, number>();
    for (const c of cores) counts.set(c[i] ?? '', (counts.get(c[i] ?? '') ?? 0) + 1);
    for (const n of counts.values()) bits -= (n / cores.length) * Math.log2(n / cores.length);
  }
  return bits;
}

const decode = (v: string) => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};

export default defineLab(
  {
    id: 'sessions',
    title: 'Sessions: cookie sessions in Redis',
    track: 'security',
    summary: 'Server-side sessions behind a cookie: secure cookie attributes, a new id at every login, logout that really ends the session, idle and absolute timeouts, unguessable ids.',
    difficulty: 'intermediate',
    estimatedMinutes: 75,
    questions: [17, 45, 44],
    services: ['redis'],
    env: {
      USERS: { description: 'JSON array of accounts: [{"username","password"}].', value: (r) => usersEnv(r) },
      SESSION_IDLE_TIMEOUT_SECONDS: { description: 'A session not used for this many seconds ends.', value: (r) => String(r.int(4, 5)) },
      // Longer than the idle-timeout check lasts (2.1 x idle + 1.5 s, up to 12 s): a server that keeps idle sessions
      // too long must not be rescued there by the absolute timeout.
      SESSION_ABSOLUTE_TIMEOUT_SECONDS: { description: 'A session ends this many seconds after the login, however active it is.', value: (r) => String(r.int(15, 16)) },
      SESSION_SECRET: { description: 'A random secret, the same at every start, if you sign your cookies (express-session\'s `secret`).', value: (r) => r.string(40) },
    },
    checks: [
      {
        id: 'login',
        title: 'POST /login sets a session cookie that GET /me accepts; wrong passwords and no cookie are 401',
        hint: 'On a correct login create a random id, store the session in Redis under sess:<id>, answer 200 with `Set-Cookie: sid=<id>`; GET /me looks the cookie up.',
        async run(ctx) {
          const { alice, bob } = users(ctx);
          const { sid } = await login(ctx, alice);
          await expectMe(ctx, sid, alice, `GET /me with ${alice.username}'s new session cookie must answer 200 with {"username": "${alice.username}"}.`);
          const { sid: other } = await login(ctx, bob);
          await expectMe(ctx, other, bob, `GET /me with ${bob.username}'s session cookie must answer 200 with {"username": "${bob.username}"}.`);
          (await me(ctx, undefined)).expectStatus(401, 'GET /me without a session cookie must be refused with 401.');
          for (const [what, res] of [
            ['a wrong password', await postLogin(ctx, alice, `${alice.password}x`)],
            ['an unknown user', await postLogin(ctx, { username: `${alice.username}zz`, password: alice.password })],
          ] as const) {
            res.expectStatus(401, `POST /login with ${what} must be refused with 401.`);
            const cookie = findSetCookie(res, COOKIE);
            if (cookie?.value) await expectNoSession(ctx, cookie.value, `The \`${COOKIE}\` cookie set by a failed login (${what}) must not log anyone in.`);
          }
        },
      },
      {
        id: 'cookie-attributes',
        title: 'The session cookie is HttpOnly, SameSite=Lax or Strict, Path=/, and Secure behind HTTPS',
        hint: 'Send `Set-Cookie: sid=<id>; Path=/; HttpOnly; SameSite=Lax` and add `; Secure` when the request has `X-Forwarded-Proto: https`.',
        async run(ctx) {
          const { alice } = users(ctx);
          const { res } = await login(ctx, alice, { 'X-Forwarded-Proto': 'https' });
          const sid = expectSetCookie(res, COOKIE);
          const bad = (message: string, expected: string) => res.fail(message, expected, `Set-Cookie: ${sid.raw}`);
          if (!sid.httpOnly) bad('The session cookie must be `HttpOnly`, so page scripts (and an XSS payload) cannot read it.', `Set-Cookie: ${COOKIE}=...; HttpOnly`);
          if (sid.sameSite !== 'Lax' && sid.sameSite !== 'Strict') {
            bad(`The session cookie needs \`SameSite=Lax\` (or Strict) so browsers leave it off cross-site requests; it has ${sid.sameSiteRaw === undefined ? 'no SameSite attribute' : `SameSite=${sid.sameSiteRaw}`}.`, `Set-Cookie: ${COOKIE}=...; SameSite=Lax`);
          }
          if (sid.path !== '/') bad('The session cookie must be sent for the whole site: `Path=/`.', `Set-Cookie: ${COOKIE}=...; Path=/`);
          if (!sid.secure) {
            bad('This login came over HTTPS (`X-Forwarded-Proto: https`, set by the TLS proxy in front of you): the session cookie must be `Secure` so the browser never sends it over plain http.', `Set-Cookie: ${COOKIE}=...; Secure`);
          }
        },
      },
      {
        id: 'stored-in-redis',
        title: 'Sessions live in Redis: one sess:* key per login, they survive a restart, and deleting the key ends the session',
        hint: 'Keep sessions only in Redis (no copy in process memory): read sess:<id> on every request, so a restart keeps them and a deleted key ends them at once.',
        timeoutMs: 60_000,
        async run(ctx) {
          const { alice } = users(ctx);
          // A restart can take seconds on a busy machine: with the lab's short timeouts the session could
          // expire while the server is down, so this check runs the server with long ones, then stops it
          // (the runner starts it again with the lab's own env before the next check).
          const long = { SESSION_IDLE_TIMEOUT_SECONDS: '300', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600' };
          try {
            ctx.note('restarting your server with long timeouts (300 s idle, 600 s absolute) for this check');
            await ctx.server.restart({ env: long });
            const { sid, key } = await loginWithKey(ctx, alice);
            await expectMe(ctx, sid, alice, 'GET /me with the new session cookie must answer 200.');
            ctx.note('restarting your server (SIGTERM, then start it again)');
            await ctx.server.restart({ env: long });
            await expectMe(ctx, sid, alice, 'After a restart of your server, the session must still work: it lives in Redis, not in the process (and a cookie signing secret must come from SESSION_SECRET, not be drawn at every start).');
            await ctx.redis.del(key);
            await expectNoSession(ctx, sid, `The grader deleted the session's Redis key (${key}): GET /me must now answer 401, Redis is the only copy of the session.`);
          } finally {
            await ctx.server.kill();
          }
        },
      },
      {
        id: 'rotate-on-login',
        title: 'Logging in issues a new id and ends the session the request came with (session fixation)',
        hint: 'At login, delete the session named by the incoming cookie (if any) and always create a new random id: never reuse or upgrade the old one.',
        async run(ctx) {
          const { alice, bob } = users(ctx);
          // The attacker logs in as themselves and plants that cookie in the victim's browser.
          const { sid: planted } = await login(ctx, bob);
          const { sid: fresh, res } = await login(ctx, alice, new Cookies({ [COOKIE]: planted }).headers());
          expectThat(fresh !== planted, `${alice.username} logged in while carrying the session cookie ${bob.username} planted: the login must issue a new session id, not keep the old one (session fixation).`, {
            expected: `Set-Cookie: ${COOKIE}=<a new id, not ${planted}>`,
            res,
          });
          await expectMe(ctx, fresh, alice, `GET /me with the id the login issued must answer ${alice.username}.`);
          const old = await me(ctx, planted);
          expectThat(old.status === 401, `After ${alice.username} logged in with the planted cookie, that old id must be a dead session (401): ${old.status === 200 ? `it answered ${old.text.slice(0, 80)}` : `it answered ${old.status}`}.`, {
            expected: 'GET /me with the old id: 401',
            res: old,
          });
        },
      },
      {
        id: 'unknown-id-not-adopted',
        title: 'An id the server never issued is never adopted: no session is created for it, and a login replaces it',
        hint: 'Only a successful login creates a session, always under an id you generate; a cookie naming no session is ignored (never used as the new id).',
        async run(ctx) {
          const { alice } = users(ctx);
          const { sid: real } = await login(ctx, alice);
          const forged = forgeLike(real, ctx.random);
          const before = await sessionKeys(ctx);
          const probe = await me(ctx, forged);
          probe.expectStatus(401, `GET /me with a session id your server never issued (${forged}) must answer 401.`);
          const createdByProbe = added(before, await sessionKeys(ctx));
          expectThat(createdByProbe.length === 0, 'GET /me with an unknown session id created a session in Redis: only a successful login may create one.', {
            expected: `no new ${PREFIX}* key`,
            received: createdByProbe.join('\n'),
            res: probe,
          });
          const { sid: issued, res } = await login(ctx, alice, new Cookies({ [COOKIE]: forged }).headers());
          expectThat(issued !== forged, `A login that carried the never-issued id ${forged} kept it as the new session id: the server adopted an id the client chose (session fixation).`, {
            expected: `Set-Cookie: ${COOKIE}=<an id your server generated>`,
            res,
          });
          await expectMe(ctx, issued, alice, 'GET /me with the id the login issued must answer 200.');
          await expectNoSession(ctx, forged, `After the login, the id the client made up (${forged}) must still name no session (401).`);
        },
      },
      {
        id: 'logout',
        title: 'POST /logout deletes the session in Redis and clears the cookie; the old cookie replayed is 401',
        hint: 'On logout DEL sess:<id> (not just forget the user inside it) and send `Set-Cookie: sid=; Max-Age=0; Path=/`.',
        async run(ctx) {
          const { alice } = users(ctx);
          const { sid, key } = await loginWithKey(ctx, alice);
          const { sid: other } = await login(ctx, alice);
          await expectMe(ctx, sid, alice, 'GET /me with the session cookie must answer 200 before the logout.');
          const res = await ctx.http.request('/logout', { method: 'POST', headers: new Cookies({ [COOKIE]: sid }).headers() });
          res.expectStatus([200, 204], 'POST /logout with a session cookie must answer 204 (or 200).');
          const cleared = findSetCookie(res, COOKIE);
          expectThat(cleared !== undefined && isCookieRemoval(cleared), 'The logout response must delete the cookie in the browser: `Set-Cookie: sid=; Max-Age=0; Path=/` (or an Expires in the past).', {
            expected: `Set-Cookie: ${COOKIE}=; Max-Age=0; Path=/`,
            received: cleared ? `Set-Cookie: ${cleared.raw}` : 'no Set-Cookie for sid',
            res,
          });
          const exists = await ctx.redis.exists(key);
          expectThat(exists === 0, `After the logout, the session's Redis key (${key}) still exists: logout must delete the session on the server, not only the cookie or the user in it.`, {
            expected: `${key} gone (EXISTS = 0)`,
            received: `${key} still there: ${show(await ctx.redis.get(key).catch(() => '(not a string)'))}`,
            res,
          });
          const replay = await me(ctx, sid);
          replay.expectStatus(401, 'The cookie from before the logout, sent again (a copy an attacker kept), must be refused with 401: the session is over.');
          await expectMe(ctx, other, alice, `Logging out one session must not end ${alice.username}'s other session (another device).`);
        },
      },
      {
        id: 'idle-timeout',
        title: 'A session unused for SESSION_IDLE_TIMEOUT_SECONDS ends (and its key leaves Redis); each use restarts that clock',
        hint: 'Give the key a TTL of the idle timeout (SET ... PX, in ms from the seconds in the env) and reset it on every request that uses the session (PEXPIRE).',
        timeoutMs: 45_000,
        async run(ctx) {
          const { alice } = users(ctx);
          const idle = idleMs(ctx);
          const { sid, key } = await loginWithKey(ctx, alice);
          const step = Math.round(idle * 0.55);
          ctx.note(`idle timeout ${secs(idle)}: using the session every ${secs(step)}, then leaving it alone`);
          await ctx.sleep(step);
          await expectMe(ctx, sid, alice, `${secs(step)} after the login (idle timeout ${secs(idle)}), the session must still work.`);
          await ctx.sleep(step);
          await expectMe(ctx, sid, alice, `${secs(2 * step)} after the login but only ${secs(step)} after its last use, the session must still work: each request restarts the idle timeout (${secs(idle)}).`);
          const wait = idle + 1500;
          ctx.note(`leaving the session unused for ${secs(wait)}`);
          await ctx.sleep(wait);
          const exists = await ctx.redis.exists(key);
          expectThat(exists === 0, `The session was unused for ${secs(wait)} (idle timeout ${secs(idle)}), but its Redis key ${key} still exists: give the key a TTL of the idle timeout so idle sessions disappear on their own.`, {
            expected: `${key} expired (EXISTS = 0)`,
            received: `${key} still there, TTL ${await ctx.redis.pttl(key)} ms`,
          });
          await expectNoSession(ctx, sid, `The session was unused for ${secs(wait)} (idle timeout ${secs(idle)}): GET /me must answer 401.`);
        },
      },
      {
        id: 'absolute-timeout',
        title: 'A session ends SESSION_ABSOLUTE_TIMEOUT_SECONDS after the login, however active it is',
        hint: 'Store the login time in the session; refuse (and delete) it once that is older than the absolute timeout, and never set a TTL beyond that moment.',
        timeoutMs: 45_000,
        async run(ctx) {
          const { alice } = users(ctx);
          const absolute = absoluteMs(ctx);
          const idle = idleMs(ctx);
          const start = performance.now();
          const { sid } = await login(ctx, alice);
          const loggedIn = performance.now();
          const lastUse = absolute - 1500;
          ctx.note(`absolute timeout ${secs(absolute)}: using the session every second until ${secs(lastUse)} after the login`);
          for (let at = 1000; ; at = Math.min(at + 1000, lastUse)) {
            await ctx.sleep(Math.max(0, start + at - performance.now()));
            await expectMe(ctx, sid, alice, `${secs(performance.now() - start)} after the login (absolute timeout ${secs(absolute)}, used every second so never idle), the session must still work.`);
            if (at >= lastUse) break;
          }
          // Soon after the absolute timeout (a correct server refuses any request after it), and well before the
          // idle timeout would end the session anyway: a server without an absolute timeout still answers 200 here.
          await ctx.sleep(Math.max(0, loggedIn + absolute + 700 - performance.now()));
          const res = await me(ctx, sid);
          expectThat(res.status === 401, `${secs(performance.now() - start)} after the login (absolute timeout ${secs(absolute)}; last used ${secs(performance.now() - start - lastUse)} ago, less than the idle timeout ${secs(idle)}), the session must be over: GET /me must answer 401.`, {
            expected: 'HTTP 401',
            res,
          });
        },
      },
      {
        id: 'unpredictable-ids',
        title: `Session ids are unique and unpredictable across ${LOGINS} logins`,
        hint: 'Draw ids from a cryptographically secure generator with at least 128 bits (crypto.randomBytes(32).toString("base64url")); never a counter, a timestamp or Math.random.',
        timeoutMs: 60_000,
        async run(ctx) {
          const { alice } = users(ctx);
          const ids: string[] = [];
          ctx.note(`${LOGINS} logins, ${AT_ONCE} at a time`);
          for (let round = 0; round < LOGINS / AT_ONCE; round++) {
            const results = await ctx.burst(AT_ONCE, () => login(ctx, alice));
            for (const r of results) {
              if (r.status === 'rejected') throw r.reason;
              ids.push(decode(r.value.sid));
            }
          }
          const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
          expectThat(dupes.length === 0, `${LOGINS} logins must give ${LOGINS} different session ids; ${dupes.length} repeated an earlier one.`, {
            expected: `${LOGINS} distinct ids`,
            received: `repeated: ${[...new Set(dupes)].slice(0, 3).join(', ')}`,
          });
          const bits = estimateBits(ids);
          const sample = ids.slice(0, 4).join('\n');
          expectThat(bits >= MIN_BITS, `The session ids look guessable: over ${LOGINS} ids, their characters carry about ${bits.toFixed(0)} bits of randomness (at least ${MIN_BITS} expected; the contract asks for 128 from a secure generator).`, {
            expected: 'ids like Vq3N0c_kZ8mR2... (43 characters from 32 random bytes: 256 bits)',
            received: `about ${bits.toFixed(0)} bits; the first ids:\n${sample}`,
          });
        },
      },
    ],
  },
  import.meta.dirname,
);
