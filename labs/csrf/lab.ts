// csrf: a cookie-authenticated form app. The grader plays a victim and an attacker, each with a plain
// cookie store (no browser jar: its rules would hide what the server sent), and always reads the state
// back after a refused request: a 403 that still changed the email is a failure.
import { Cookies, defineLab, expectJson, expectSetCookie, expectThat, findSetCookie, type CheckContext, type HttpResponse, type Random, twoAccounts } from '../../grader/index.ts';

interface User {
  username: string;
  password: string;
}

interface Client {
  user: User;
  cookies: Cookies;
}

const SUCCESS = [200, 201, 204, 302, 303];
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';

function users(ctx: CheckContext): { victim: User; attacker: User } {
  const [victim, attacker] = JSON.parse(ctx.env.USERS) as User[];
  return { victim, attacker };
}

function usersEnv(r: Random): string {
  // the victim, then the attacker
  return JSON.stringify(twoAccounts(r, 14));
}

function postLogin(ctx: CheckContext, user: User, password = user.password, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return ctx.http.request('/login', { method: 'POST', body: form({ username: user.username, password }), headers: { 'Content-Type': FORM, ...headers } });
}

async function login(ctx: CheckContext, user: User, headers: Record<string, string> = {}): Promise<{ client: Client; res: HttpResponse }> {
  const res = await postLogin(ctx, user, user.password, headers);
  res.expectStatus(SUCCESS, `POST /login as ${user.username} with the right password must succeed (200, 204, or a 302/303 redirect) and set the session cookie.`);
  expectSetCookie(res, 'sid', 'A successful login must set the session cookie: `Set-Cookie: sid=<session id>; ...`.');
  return { client: { user, cookies: new Cookies().store(res) }, res };
}

async function account(ctx: CheckContext, client: Client): Promise<{ username: string; email: string; res: HttpResponse }> {
  const res = await ctx.http.get('/api/account', { headers: client.cookies.headers() });
  const body = expectJson(res, 200, `GET /api/account with ${client.user.username}'s session cookie must answer 200 with {"username", "email"}.`);
  expectThat(body?.username === client.user.username && typeof body?.email === 'string', `GET /api/account must answer {"username": "${client.user.username}", "email": "<current email>"} for the logged-in user.`, {
    expected: `{"username": "${client.user.username}", "email": "..."}`,
    res,
  });
  return { username: body.username, email: body.email, res };
}

async function csrfToken(ctx: CheckContext, client: Client): Promise<string> {
  const res = await ctx.http.get('/api/csrf-token', { headers: client.cookies.headers() });
  const body = expectJson(res, 200, 'GET /api/csrf-token with a session cookie must answer 200 with {"csrf_token": "..."}.');
  expectThat(typeof body?.csrf_token === 'string' && body.csrf_token.length >= 16, 'GET /api/csrf-token must answer {"csrf_token": "<an unguessable string of at least 16 characters>"}.', { res });
  client.cookies.store(res); // a double-submit design sets its cookie here
  return body.csrf_token;
}

interface ChangeOptions {
  /** Where the token goes: the X-CSRF-Token header (default) or the csrf_token form field. */
  token?: string;
  tokenIn?: 'header' | 'form';
  headers?: Record<string, string>;
  /** Cookies to send instead of the client's own. */
  cookies?: Cookies;
}

function changeEmail(ctx: CheckContext, client: Client, email: string, o: ChangeOptions = {}): Promise<HttpResponse> {
  const fields: Record<string, string> = { email };
  const headers: Record<string, string> = { 'Content-Type': FORM, ...(o.headers ?? {}) };
  if (o.token !== undefined) {
    if (o.tokenIn === 'form') fields.csrf_token = o.token;
    else headers['X-CSRF-Token'] = o.token;
  }
  return ctx.http.request('/account/email', { method: 'POST', body: form(fields), headers: (o.cookies ?? client.cookies).headers(headers) });
}

function newEmail(r: Random): string {
  return `${r.word()}.${r.string(5)}@example.net`;
}

async function expectChanged(ctx: CheckContext, client: Client, res: HttpResponse, email: string, what: string): Promise<void> {
  res.expectStatus(SUCCESS, `${what} must be accepted (200, 201, 204, or a 302/303 redirect): it carries ${client.user.username}'s session cookie and a valid CSRF token.`);
  const now = await account(ctx, client);
  expectThat(now.email === email, `${what} was answered ${res.status} but the email did not change.`, {
    expected: `"email": "${email}"`,
    received: `"email": "${now.email}"`,
    res: now.res,
  });
}

/** 403, and the state really did not change. */
async function expectRefused(ctx: CheckContext, victim: Client, res: HttpResponse, before: string, what: string): Promise<void> {
  res.expectStatus(403, `${what} must be refused with 403 Forbidden; your server answered ${res.status}.`);
  const now = await account(ctx, victim);
  expectThat(now.email === before, `${what} was answered 403, but ${victim.user.username}'s email changed anyway: check the request before you change anything.`, {
    expected: `"email": "${before}" (unchanged)`,
    received: `"email": "${now.email}"`,
    res: now.res,
  });
}

export default defineLab(
  {
    id: 'csrf',
    title: 'CSRF: protect a cookie-authenticated form',
    track: 'security',
    summary: 'Stop cross-site request forgery on a cookie-session app: session-bound CSRF tokens, Fetch Metadata and Origin checks, SameSite cookies.',
    difficulty: 'intermediate',
    estimatedMinutes: 60,
    questions: [20],
    env: {
      APP_ORIGIN: { description: 'The public origin of the app (scheme://host), the only origin allowed to submit its forms.', value: (r) => `https://${r.word()}.example.org` },
      USERS: { description: 'JSON array of accounts: [{"username","password"}].', value: (r) => usersEnv(r) },
    },
    checks: [
      {
        id: 'login',
        title: 'POST /login sets a session cookie that GET /api/account accepts; wrong passwords and unknown sessions are 401',
        hint: 'On a correct form login create a random session id, remember it server side, send `Set-Cookie: sid=<id>`; look the id up on every request.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { client } = await login(ctx, victim);
          await account(ctx, client);
          const anonymous = await ctx.http.get('/api/account');
          anonymous.expectStatus(401, 'GET /api/account without a session cookie must be refused with 401.');
          const forged = await ctx.http.get('/api/account', { headers: { Cookie: `sid=${ctx.random.string(43)}` } });
          forged.expectStatus(401, 'GET /api/account with a session id your server never issued must be refused with 401.');
          const wrong = await postLogin(ctx, victim, `${victim.password}x`);
          wrong.expectStatus(401, 'POST /login with a wrong password must be refused with 401.');
          const sid = findSetCookie(wrong, 'sid');
          if (sid && sid.value) {
            const res = await ctx.http.get('/api/account', { headers: { Cookie: `sid=${sid.value}` } });
            res.expectStatus(401, 'The `sid` cookie set by a failed login must not log anyone in.');
          }
        },
      },
      {
        id: 'session-cookie',
        title: 'The session cookie is HttpOnly, SameSite=Lax or Strict, Path=/, and Secure behind HTTPS',
        hint: 'Send `Set-Cookie: sid=<id>; Path=/; HttpOnly; SameSite=Lax; Secure`, adding Secure when the request has `X-Forwarded-Proto: https`.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { res } = await login(ctx, victim, { 'X-Forwarded-Proto': 'https' });
          const sid = expectSetCookie(res, 'sid');
          const bad = (message: string, expected: string) => res.fail(message, expected, `Set-Cookie: ${sid.raw}`);
          if (sid.sameSite !== 'Lax' && sid.sameSite !== 'Strict') {
            bad(`The session cookie needs \`SameSite=Lax\` (or Strict) so browsers leave it off cross-site POSTs; it has ${sid.sameSiteRaw === undefined ? 'no SameSite attribute' : `SameSite=${sid.sameSiteRaw}`}.`, 'Set-Cookie: sid=...; SameSite=Lax');
          }
          if (!sid.httpOnly) bad('The session cookie must be `HttpOnly` so that page scripts (and XSS) cannot read it.', 'Set-Cookie: sid=...; HttpOnly');
          if (sid.path !== '/') bad('The session cookie must be sent for the whole site: `Path=/`.', 'Set-Cookie: sid=...; Path=/');
          if (!sid.secure) bad('The login came over HTTPS (`X-Forwarded-Proto: https` from the proxy in front of you): the session cookie must be `Secure`.', 'Set-Cookie: sid=...; Secure');
        },
      },
      {
        id: 'valid-token',
        title: 'POST /account/email with a valid CSRF token (header or form field) changes the email',
        hint: 'GET /api/csrf-token answers the session\'s token; POST /account/email accepts it in the `X-CSRF-Token` header or the `csrf_token` form field.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { client } = await login(ctx, victim);
          const { email: before } = await account(ctx, client);
          const first = newEmail(ctx.random);
          const t1 = await csrfToken(ctx, client);
          const viaHeader = await changeEmail(ctx, client, first, { token: t1, headers: { Origin: ctx.env.APP_ORIGIN, 'Sec-Fetch-Site': 'same-origin' } });
          await expectChanged(ctx, client, viaHeader, first, `A same-origin POST /account/email (email ${before} -> ${first}) with the token in X-CSRF-Token`);
          const second = newEmail(ctx.random);
          const t2 = await csrfToken(ctx, client);
          const viaForm = await changeEmail(ctx, client, second, { token: t2, tokenIn: 'form' });
          await expectChanged(ctx, client, viaForm, second, 'POST /account/email with the token in the csrf_token form field (a client that sends no Origin)');
        },
      },
      {
        id: 'missing-token',
        title: 'A POST without a valid CSRF token is 403 and changes nothing',
        hint: 'Before changing anything, compare the submitted token with the session\'s (constant-time); absent, empty or wrong: 403.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { client } = await login(ctx, victim);
          const { email: before } = await account(ctx, client);
          const real = await csrfToken(ctx, client);
          const browser = { Origin: ctx.env.APP_ORIGIN, 'Sec-Fetch-Site': 'same-origin' };
          await expectRefused(ctx, client, await changeEmail(ctx, client, newEmail(ctx.random), { headers: browser }), before, 'POST /account/email without any CSRF token');
          await csrfToken(ctx, client);
          await expectRefused(ctx, client, await changeEmail(ctx, client, newEmail(ctx.random), { token: '', tokenIn: 'form', headers: browser }), before, 'POST /account/email with an empty csrf_token field');
          await csrfToken(ctx, client);
          const garbage = ctx.random.string(real.length, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
          await expectRefused(ctx, client, await changeEmail(ctx, client, newEmail(ctx.random), { token: garbage, headers: browser }), before, 'POST /account/email with a made-up token of the right length');
          const fresh = await csrfToken(ctx, client);
          const last = fresh.at(-1) === 'A' ? 'B' : 'A';
          await expectRefused(ctx, client, await changeEmail(ctx, client, newEmail(ctx.random), { token: `${fresh.slice(0, -1)}${last}`, headers: browser }), before, 'POST /account/email with the real token, last character changed');
        },
      },
      {
        id: 'token-bound-to-session',
        title: "The attacker's own valid token does not work with the victim's session",
        hint: 'Bind the token to the session: store it in the session (synchronizer token) or sign it with the session id (signed double submit), and check that binding.',
        async run(ctx) {
          const { victim: v, attacker: a } = users(ctx);
          const victim = (await login(ctx, v)).client;
          const attacker = (await login(ctx, a)).client;
          const { email: before } = await account(ctx, victim);
          const stolen = await csrfToken(ctx, attacker);

          await expectRefused(ctx, victim, await changeEmail(ctx, victim, newEmail(ctx.random), { token: stolen }), before,
            `POST /account/email with ${v.username}'s cookies and ${a.username}'s own valid CSRF token`);
          // Cookie tossing: the attacker also plants its own non-session cookies (e.g. a double-submit cookie).
          const tossed = attacker.cookies.clone().set('sid', victim.cookies.get('sid')!);
          await expectRefused(ctx, victim, await changeEmail(ctx, victim, newEmail(ctx.random), { token: stolen, cookies: tossed }), before,
            `POST /account/email with ${v.username}'s session cookie, ${a.username}'s other cookies (${attacker.cookies.names().filter((n) => n !== 'sid').join(', ') || 'none'}) and ${a.username}'s token`);

          const own = newEmail(ctx.random);
          await expectChanged(ctx, attacker, await changeEmail(ctx, attacker, own, { token: await csrfToken(ctx, attacker) }), own, `${a.username}'s own POST /account/email with its own token`);
        },
      },
      {
        id: 'fetch-metadata',
        title: 'A POST with Sec-Fetch-Site: cross-site is 403 even with a valid token; same-origin is allowed',
        hint: 'Browsers label every request with Sec-Fetch-Site: refuse state-changing requests marked `cross-site` before anything else.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { client } = await login(ctx, victim);
          const { email: before } = await account(ctx, client);
          const cross = await changeEmail(ctx, client, newEmail(ctx.random), { token: await csrfToken(ctx, client), headers: { 'Sec-Fetch-Site': 'cross-site' } });
          await expectRefused(ctx, client, cross, before, 'POST /account/email with `Sec-Fetch-Site: cross-site` (a form on another site), valid cookie and token');
          const email = newEmail(ctx.random);
          const same = await changeEmail(ctx, client, email, { token: await csrfToken(ctx, client), headers: { 'Sec-Fetch-Site': 'same-origin' } });
          await expectChanged(ctx, client, same, email, 'POST /account/email with `Sec-Fetch-Site: same-origin`');
        },
      },
      {
        id: 'origin-check',
        title: 'A POST from a foreign Origin (look-alikes and null included) is 403; APP_ORIGIN is allowed',
        hint: 'Compare the whole Origin header with APP_ORIGIN as an exact string: no prefix, suffix or host-only matching, and `null` is foreign.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { client } = await login(ctx, victim);
          const { email: before } = await account(ctx, client);
          const app = new URL(ctx.env.APP_ORIGIN);
          const foreign = [
            `https://${ctx.random.word()}-evil.test`,
            `${ctx.env.APP_ORIGIN}.evil.test`,
            `https://evil${app.host}`,
            'null',
            `http://${app.host}`,
            `${ctx.env.APP_ORIGIN}:8443`,
          ];
          for (const origin of foreign) {
            const res = await changeEmail(ctx, client, newEmail(ctx.random), { token: await csrfToken(ctx, client), headers: { Origin: origin } });
            await expectRefused(ctx, client, res, before, `POST /account/email with \`Origin: ${origin}\` (APP_ORIGIN is ${ctx.env.APP_ORIGIN}), valid cookie and token`);
          }
          const email = newEmail(ctx.random);
          const ok = await changeEmail(ctx, client, email, { token: await csrfToken(ctx, client), headers: { Origin: ctx.env.APP_ORIGIN } });
          await expectChanged(ctx, client, ok, email, `POST /account/email with \`Origin: ${ctx.env.APP_ORIGIN}\``);
        },
      },
      {
        id: 'no-state-change-on-get',
        title: 'GET never changes state (GET /account/email?email=... leaves the email alone)',
        hint: 'Route state changes to POST only: a GET can be triggered by any <img> or link on any site, with the cookies attached.',
        async run(ctx) {
          const { victim } = users(ctx);
          const { client } = await login(ctx, victim);
          const { email: before } = await account(ctx, client);
          const token = await csrfToken(ctx, client);
          const email = newEmail(ctx.random);
          const res = await ctx.http.get(`/account/email?${form({ email, csrf_token: token })}`, { headers: client.cookies.headers() });
          const now = await account(ctx, client);
          expectThat(now.email === before, `GET /account/email?email=${email} changed the email (answered ${res.status}): state may only change on POST.`, {
            expected: `"email": "${before}" (unchanged)`,
            received: `"email": "${now.email}"`,
            res,
          });
        },
      },
    ],
  },
  import.meta.dirname,
);
