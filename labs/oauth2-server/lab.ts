// oauth2-server: the learner builds an authorization server (authorization code + PKCE S256, refresh
// rotation). The grader plays the user's browser (cookie jar, one redirect hop at a time, never following a
// redirect off the server) and the client applications (confidential and public), and finally lets a
// certified client library, oauth4webapi, run the same flow as a second opinion.
import {
  Browser,
  CheckFailure,
  defineLab,
  expectJson,
  expectOAuthError,
  expectThat,
  expectTokenResponse,
  pkcePair,
  pkceVerifier,
  s256,
  probeFetch,
  readAuthorizationResponse,
  tokenRequest,
  type AuthorizationResponse,
  type CheckContext,
  type ClientAuthMethod,
  type ClientCredentials,
  type HttpResponse,
  type PkcePair,
  type TokenResponse,
  twoAccounts,
  type Random,
} from '../../grader/index.ts';

interface Client {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
}
interface User {
  username: string;
  password: string;
}

interface Setup {
  issuer: string;
  /** Confidential client: a secret and two redirect URIs (the second with its own query). */
  app: Client;
  /** Public client (no secret). */
  spa: Client;
  users: User[];
  user: User;
  ttl: number;
}

function setup(ctx: CheckContext): Setup {
  const clients = JSON.parse(ctx.env.CLIENTS) as Client[];
  const users = JSON.parse(ctx.env.USERS) as User[];
  return {
    issuer: new URL(ctx.http.baseUrl).origin,
    app: clients.find((c) => c.client_secret !== undefined)!,
    spa: clients.find((c) => c.client_secret === undefined)!,
    users,
    user: users[0],
    ttl: Number(ctx.env.ACCESS_TOKEN_TTL_SECONDS),
  };
}

function clientsEnv(r: { word(): string; string(n: number, a?: string): string }): string {
  const app = r.word();
  const spa = r.word();
  return JSON.stringify([
    {
      client_id: `app-${app}-${r.string(6)}`,
      client_secret: r.string(32, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
      redirect_uris: [`https://${app}.example/callback`, `https://${app}.example/oauth/cb?tenant=${r.word()}`],
    },
    { client_id: `spa-${spa}-${r.string(6)}`, redirect_uris: [`https://${spa}-spa.example/cb`] },
  ]);
}

function usersEnv(r: Random): string {
  return JSON.stringify(twoAccounts(r));
}

const creds = (c: Client) => ({ clientId: c.client_id, clientSecret: c.client_secret });

interface AuthorizeRequest {
  client: Client;
  redirectUri?: string;
  pkce?: PkcePair;
  state?: string;
  /** Overrides or extra parameters, as pairs (may repeat a name). */
  pairs?: [string, string][];
}

function authorizePairs(req: AuthorizeRequest): [string, string][] {
  if (req.pairs) return req.pairs;
  const pairs: [string, string][] = [
    ['response_type', 'code'],
    ['client_id', req.client.client_id],
    ['redirect_uri', req.redirectUri ?? req.client.redirect_uris[0]],
  ];
  if (req.pkce) pairs.push(['code_challenge', req.pkce.challenge], ['code_challenge_method', 'S256']);
  if (req.state !== undefined) pairs.push(['state', req.state]);
  return pairs;
}

function authorizePath(pairs: [string, string][]): string {
  return `/authorize?${new URLSearchParams(pairs).toString()}`;
}

function curlFlow(s: Setup, path: string, user: User): string {
  return [
    `# 1. the authorization request (a browser without a session gets your login page)`,
    `curl -i '${s.issuer}${path}'`,
    `# 2. the login form, then the redirect back to /authorize with the session cookie`,
    `curl -i -c jar.txt -X POST ${s.issuer}/login --data-urlencode 'username=${user.username}' --data-urlencode 'password=${user.password}' --data-urlencode 'return_to=${path}'`,
    `curl -i -b jar.txt '${s.issuer}${path}'`,
  ].join('\n');
}

/**
 * Signs `user` in with `browser` through `path` (GET /authorize -> login page -> POST /login -> back to
 * /authorize) unless the browser already has a session, and returns where the server finally sent it.
 */
async function signInAndAuthorize(ctx: CheckContext, s: Setup, browser: Browser, path: string, user: User = s.user): Promise<{ nav: Awaited<ReturnType<Browser['navigate']>> }> {
  const first = await browser.navigate(path);
  if (first.leftTo) return { nav: first };
  if (first.response.status !== 200) {
    browser.fail({
      message: `GET /authorize with a valid request from a browser that is not signed in must answer 200 with your login page (HTML); your server answered ${first.response.status}.`,
      expected: 'HTTP 200, Content-Type: text/html, a form that posts username, password and return_to to /login',
      res: first.response,
    });
  }
  const nav = await browser.navigate('/login', { form: { username: user.username, password: user.password, return_to: path } });
  return { nav };
}

/** The full flow for a fresh browser (or one with a session): returns the authorization response. */
async function authorize(ctx: CheckContext, s: Setup, req: AuthorizeRequest, browser = new Browser(ctx.http), user: User = s.user): Promise<{ auth: AuthorizationResponse; browser: Browser; path: string; res: HttpResponse }> {
  const pairs = authorizePairs(req);
  const path = authorizePath(pairs);
  const redirectUri = req.redirectUri ?? req.client.redirect_uris[0];
  const { nav } = await signInAndAuthorize(ctx, s, browser, path, user);
  if (!nav.leftTo) {
    browser.fail({
      message: `After the user signs in, your server must send the browser back to the client: a redirect (302 or 303) to ${redirectUri} with the code. The browser ended at ${new URL(nav.url).pathname} with ${nav.response.status}.`,
      expected: `HTTP 302\nLocation: ${redirectUri}${redirectUri.includes('?') ? '&' : '?'}code=...&state=...`,
      res: nav.response,
      hint: `Reproduce it:\n${curlFlow(s, path, user)}`,
    });
  }
  const auth = readAuthorizationResponse(nav.leftTo!, redirectUri);
  if (!auth.matchesRedirectUri) {
    browser.fail({
      message: `Your server redirected to ${nav.leftTo!.href}, which is not the redirect_uri of the request (${redirectUri}). Redirect to exactly that URI, keeping its own query parameters, and add code and state to its query.`,
      expected: `Location: ${redirectUri}${redirectUri.includes('?') ? '&' : '?'}code=...`,
      res: nav.response,
    });
  }
  return { auth, browser, path, res: nav.response };
}

/** A fresh code for `req` (signing in if the browser has no session), with the PKCE pair used. */
async function freshCode(ctx: CheckContext, s: Setup, client: Client, browser: Browser, options: { redirectUri?: string; pkce?: PkcePair } = {}): Promise<{ code: string; pkce: PkcePair; redirectUri: string }> {
  const pkce = options.pkce ?? pkcePair(ctx.random);
  const state = ctx.random.string(16);
  const redirectUri = options.redirectUri ?? client.redirect_uris[0];
  const { auth, res } = await authorize(ctx, s, { client, redirectUri, pkce, state }, browser);
  if (!auth.code) {
    browser.fail({
      message: `The redirect back to the client carries no \`code\` parameter${auth.error ? ` but an error: ${auth.error}${auth.errorDescription ? ` (${auth.errorDescription})` : ''}` : ''}.`,
      expected: `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}code=<code>&state=${state}`,
      received: auth.url.href,
      res,
    });
  }
  return { code: auth.code!, pkce, redirectUri };
}

function redeem(ctx: CheckContext, client: Client, code: string, redirectUri: string, verifier: string | undefined, auth?: ClientAuthMethod): Promise<HttpResponse> {
  const params: [string, string][] = [
    ['grant_type', 'authorization_code'],
    ['code', code],
    ['redirect_uri', redirectUri],
  ];
  if (verifier !== undefined) params.push(['code_verifier', verifier]);
  return tokenRequest(ctx.http, '/token', params, creds(client), { auth });
}

function refresh(ctx: CheckContext, client: Client, refreshToken: string, auth?: ClientAuthMethod): Promise<HttpResponse> {
  return tokenRequest(ctx.http, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, creds(client), { auth });
}

async function tokensFor(ctx: CheckContext, s: Setup, client: Client, browser: Browser, why: string): Promise<TokenResponse> {
  const { code, pkce, redirectUri } = await freshCode(ctx, s, client, browser);
  const res = await redeem(ctx, client, code, redirectUri, pkce.verifier);
  return expectTokenResponse(res, { why, noStore: false, refresh: true });
}

function me(ctx: CheckContext, accessToken: string): Promise<HttpResponse> {
  return ctx.http.get('/me', { headers: { Authorization: `Bearer ${accessToken}` } });
}

async function expectMe(ctx: CheckContext, accessToken: string, user: User, client: Client, what: string): Promise<void> {
  const res = await me(ctx, accessToken);
  const body = expectJson(res, 200, `GET /me with ${what} must answer 200.`);
  expectThat(body?.sub === user.username && body?.client_id === client.client_id, `GET /me must answer who the token is for: {"sub": "${user.username}", "client_id": "${client.client_id}"}.`, {
    expected: JSON.stringify({ sub: user.username, client_id: client.client_id }),
    res,
  });
}

async function expectRevoked(ctx: CheckContext, accessToken: string, why: string): Promise<void> {
  const res = await me(ctx, accessToken);
  res.expectStatus(401, `${why} GET /me with its access token answered ${res.status}.`);
}

/** Fails unless the authorization endpoint refused the request itself: 400 and no redirect at all. */
function expectNoRedirect(res: HttpResponse, why: string, browser: Browser): void {
  const location = res.header('location');
  if (res.status !== 400 || location !== undefined) {
    browser.fail({
      message: `${why} must be refused with 400 by your authorization endpoint itself, without redirecting anywhere: the redirect_uri or client cannot be trusted, so nothing may be sent to it. Your server answered ${res.status}${location ? ` with Location: ${location}` : ''}.`,
      expected: 'HTTP 400 (no Location header)',
      res,
    });
  }
}

export default defineLab(
  {
    id: 'oauth2-server',
    title: 'OAuth 2.0 authorization server: code flow with PKCE',
    track: 'security',
    summary: 'Issue authorization codes and tokens like a real authorization server: exact redirect URIs, state, PKCE S256, single-use codes, RFC 6749 errors, refresh rotation with reuse detection, discovery metadata.',
    difficulty: 'advanced',
    estimatedMinutes: 150,
    questions: [3],
    env: {
      CLIENTS: {
        description: 'JSON array of registered clients: [{"client_id","client_secret" (confidential clients only),"redirect_uris":[...]}].',
        value: (r) => clientsEnv(r),
      },
      USERS: { description: 'JSON array of accounts that can sign in: [{"username","password"}].', value: (r) => usersEnv(r) },
      ACCESS_TOKEN_TTL_SECONDS: { description: 'Lifetime of an access token (expires_in).', value: (r) => String(r.int(5, 15) * 60) },
    },
    checks: [
      {
        id: 'metadata',
        title: 'GET /.well-known/oauth-authorization-server describes the server (RFC 8414)',
        hint: 'Answer JSON with issuer = http://127.0.0.1:<PORT> exactly, the two endpoints under it, and what you support: code, the two grants, S256 only, the three client authentication methods.',
        async run(ctx) {
          const s = setup(ctx);
          const res = await ctx.http.get('/.well-known/oauth-authorization-server');
          const m = expectJson(res, 200, 'GET /.well-known/oauth-authorization-server must answer 200 with the metadata as JSON.');
          const want = (cond: unknown, message: string, expected: string) => expectThat(cond, message, { expected, res });
          want(m && typeof m === 'object', 'The metadata must be a JSON object.', '{"issuer": ..., ...}');
          want(m.issuer === s.issuer, `"issuer" must be exactly ${s.issuer} (http://127.0.0.1:<PORT>, no trailing slash): clients compare it byte for byte with the issuer they expect.`, `"issuer": "${s.issuer}"`);
          want(m.authorization_endpoint === `${s.issuer}/authorize`, '"authorization_endpoint" must be the absolute URL of /authorize.', `"authorization_endpoint": "${s.issuer}/authorize"`);
          want(m.token_endpoint === `${s.issuer}/token`, '"token_endpoint" must be the absolute URL of /token.', `"token_endpoint": "${s.issuer}/token"`);
          const list = (v: unknown) => (Array.isArray(v) ? (v as unknown[]) : []);
          want(list(m.response_types_supported).includes('code'), '"response_types_supported" must list "code".', '"response_types_supported": ["code"]');
          want(['authorization_code', 'refresh_token'].every((g) => list(m.grant_types_supported).includes(g)), '"grant_types_supported" must list "authorization_code" and "refresh_token".', '"grant_types_supported": ["authorization_code", "refresh_token"]');
          const methods = list(m.code_challenge_methods_supported);
          want(methods.includes('S256') && !methods.includes('plain') && methods.length === 1, '"code_challenge_methods_supported" must be exactly ["S256"]: "plain" sends the secret verifier in the clear and must be refused.', '"code_challenge_methods_supported": ["S256"]');
          want(['client_secret_basic', 'client_secret_post', 'none'].every((a) => list(m.token_endpoint_auth_methods_supported).includes(a)), '"token_endpoint_auth_methods_supported" must list "client_secret_basic", "client_secret_post" and "none".', '"token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"]');
          if (m.jwks_uri !== undefined) want(typeof m.jwks_uri === 'string' && m.jwks_uri.startsWith(`${s.issuer}/`), '"jwks_uri", when present, must be an absolute URL on your server.', `"jwks_uri": "${s.issuer}/jwks.json"`);
        },
      },
      {
        id: 'login-flow',
        title: 'The browser flow: /authorize shows a login page, POST /login signs in, the user comes back to the client with a code and the state',
        hint: 'GET /authorize without a session: 200 login page. POST /login (form: username, password, return_to): session cookie + 303 to return_to. GET /authorize with the session: 302 to redirect_uri?code=...&state=... .',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          const pkce = pkcePair(ctx.random);
          const state = ctx.random.string(20);
          const path = authorizePath(authorizePairs({ client: s.app, pkce, state }));
          const page = await browser.navigate(path);
          if (page.leftTo || page.response.status !== 200 || !/text\/html/i.test(page.response.header('content-type') ?? '')) {
            browser.fail({
              message: 'GET /authorize with a valid request from a browser that is not signed in must show your login page: 200 with Content-Type: text/html, and no redirect (nobody has signed in, so there is no code to give).',
              expected: 'HTTP 200\nContent-Type: text/html; charset=utf-8',
              res: page.response,
            });
          }
          const wrong = await browser.navigate('/login', { form: { username: s.user.username, password: `${s.user.password}x`, return_to: path } });
          if (wrong.leftTo || wrong.response.status !== 401) {
            browser.fail({ message: `POST /login with a wrong password must answer 401 and sign nobody in; your server answered ${wrong.response.status}.`, expected: 'HTTP 401', res: wrong.response });
          }
          const again = await browser.navigate(path);
          if (again.leftTo || again.response.status !== 200) {
            browser.fail({ message: 'After a failed login, GET /authorize must still show the login page: the failed attempt must not have signed the browser in.', expected: 'HTTP 200 (the login page)', res: again.response });
          }
          for (const evil of ['https://evil.example/authorize?x=1', '//evil.example/authorize?x=1', '/\\evil.example/authorize']) {
            const res = await browser.navigate('/login', { form: { username: s.user.username, password: s.user.password, return_to: evil }, follow: false });
            if (res.response.status !== 400 || res.leftTo) {
              browser.fail({
                message: `POST /login with return_to=${evil} must be refused with 400: return_to may only be a path of your own /authorize endpoint, or your login page becomes an open redirect. Your server answered ${res.response.status}${res.response.header('location') ? ` with Location: ${res.response.header('location')}` : ''}.`,
                expected: 'HTTP 400 (no redirect)',
                res: res.response,
              });
            }
          }
          const fresh = new Browser(ctx.http);
          const { auth, res: back } = await authorize(ctx, s, { client: s.app, pkce, state }, fresh);
          const login = fresh.hops.find((h) => h.method === 'POST' && h.url.endsWith('/login'));
          if (!login || login.cookiesSet.length === 0) fresh.fail({ message: 'A successful POST /login must set a session cookie (Set-Cookie), so the browser stays signed in for the next authorization.', expected: 'Set-Cookie: sid=...; HttpOnly; Path=/' });
          expectThat(auth.code, 'The redirect to the client after sign-in must carry a `code` query parameter.', { expected: `${s.app.redirect_uris[0]}?code=...&state=${state}`, received: auth.url.href, res: back });
          expectThat(auth.state === state, 'The redirect to the client must carry back the `state` the client sent, unchanged.', { expected: `state=${state}`, received: auth.url.href, res: back });
          expectThat(!auth.fragment.has('code'), 'The code goes in the query of the redirect URI, not in the fragment (#).', { received: auth.url.href, res: back });

          // Signed in already: straight back to the client, here to the registered URI that has a query of its own.
          const second = s.app.redirect_uris[1];
          const state2 = ctx.random.string(12);
          const nav = await fresh.navigate(authorizePath(authorizePairs({ client: s.app, redirectUri: second, pkce: pkcePair(ctx.random), state: state2 })));
          if (!nav.leftTo) fresh.fail({ message: 'GET /authorize from a browser that has signed in (it sends your session cookie) must redirect straight back to the client with a new code.', expected: `HTTP 302\nLocation: ${second}&code=...`, res: nav.response });
          const auth2 = readAuthorizationResponse(nav.leftTo!, second);
          if (!auth2.matchesRedirectUri || !auth2.code || auth2.code === auth.code || auth2.state !== state2) {
            fresh.fail({
              message: `The redirect must go to the registered URI ${second} keeping its own query parameter (RFC 6749 3.1.2), with a new code and the state added to that query.`,
              expected: `${second}&code=<a new code>&state=${state2}`,
              received: nav.leftTo!.href,
              res: nav.response,
            });
          }
        },
      },
      {
        id: 'token-exchange',
        title: 'POST /token exchanges a code for tokens (Basic, form and public clients); responses are never cached; GET /me accepts the access token',
        hint: 'Answer 200 {"access_token","token_type":"Bearer","expires_in","refresh_token"} with Cache-Control: no-store; accept client_secret_basic, client_secret_post, and a public client sending only client_id.',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          for (const [client, auth, what] of [
            [s.app, 'client_secret_basic', 'the confidential client authenticating with HTTP Basic'],
            [s.app, 'client_secret_post', 'the confidential client sending client_id and client_secret in the form'],
            [s.spa, 'none', 'the public client sending only its client_id'],
          ] as [Client, ClientAuthMethod, string][]) {
            const { code, pkce, redirectUri } = await freshCode(ctx, s, client, browser);
            const res = await redeem(ctx, client, code, redirectUri, pkce.verifier, auth);
            const tokens = expectTokenResponse(res, { why: `POST /token with a fresh code, the right redirect_uri and code_verifier, from ${what}, must answer 200 with the tokens.`, refresh: true });
            expectThat(tokens.expires_in === s.ttl, `"expires_in" must be ACCESS_TOKEN_TTL_SECONDS (${s.ttl}).`, { expected: `"expires_in": ${s.ttl}`, received: `"expires_in": ${JSON.stringify(tokens.expires_in)}`, res });
            await expectMe(ctx, tokens.access_token, s.user, client, `the access token issued to ${client.client_id}`);
          }
          const none = await ctx.http.get('/me');
          none.expectStatus(401, 'GET /me without a token must answer 401.');
          none.expectHeader('www-authenticate', /^\s*bearer\b/i, 'A 401 from GET /me must carry `WWW-Authenticate: Bearer ...`.', 'Bearer realm="api"');
          const forged = await me(ctx, ctx.random.string(40));
          forged.expectStatus(401, 'GET /me with a token your server never issued must answer 401.');
        },
      },
      {
        id: 'redirect-uri-exact',
        title: 'redirect_uri must equal a registered URI exactly: variants, unknown clients and a mismatch at the token endpoint are refused',
        hint: 'Compare the redirect_uri string with the client\'s registered ones with ===: no prefix match, no case folding, no trailing-slash or URL normalisation. An invalid one gets 400 from /authorize itself, never a redirect.',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          await freshCode(ctx, s, s.app, browser); // signed in: any accepted variant would now receive a code
          const reg = s.app.redirect_uris[0];
          const u = new URL(reg);
          const variants: [string, string][] = [
            [`${reg}/`, 'a trailing slash'],
            [reg.replace('/callback', '/Callback'), 'a path in another case'],
            [`${u.protocol}//${u.host.toUpperCase()}${u.pathname}`, 'the host in upper case'],
            [`${reg}x`, 'extra characters after the path (prefix match)'],
            [`${reg}/../../evil`, 'a path below it that climbs out'],
            [`${reg}?next=https://evil.example/`, 'an added query'],
            [`${reg}#frag`, 'a fragment'],
            [`https://${u.host}.evil.example${u.pathname}`, 'its host as a prefix of another domain'],
            [reg.replace('https:', 'http:'), 'http instead of https'],
            [`https://${u.host}:8443${u.pathname}`, 'another port'],
            [s.spa.redirect_uris[0], "another client's registered URI"],
          ];
          for (const [variant, what] of variants) {
            const path = authorizePath(authorizePairs({ client: s.app, redirectUri: variant, pkce: pkcePair(ctx.random), state: ctx.random.string(10) }));
            const nav = await browser.navigate(path, { follow: false });
            expectNoRedirect(nav.response, `GET /authorize with redirect_uri=${variant} (the registered ${reg} with ${what})`, browser);
          }
          const missing = await browser.navigate(authorizePath([['response_type', 'code'], ['client_id', s.app.client_id], ['code_challenge', pkcePair(ctx.random).challenge], ['code_challenge_method', 'S256'], ['state', 'x']]), { follow: false });
          expectNoRedirect(missing.response, 'GET /authorize without redirect_uri', browser);
          const unknown = await browser.navigate(authorizePath(authorizePairs({ client: { ...s.app, client_id: `${s.app.client_id}-x` }, redirectUri: reg, pkce: pkcePair(ctx.random), state: 'x' })), { follow: false });
          expectNoRedirect(unknown.response, `GET /authorize with an unknown client_id (${s.app.client_id}-x)`, browser);

          // The token request must name the same redirect_uri as the authorization request.
          const { code, pkce } = await freshCode(ctx, s, s.app, browser, { redirectUri: s.app.redirect_uris[1] });
          const res = await redeem(ctx, s.app, code, s.app.redirect_uris[0], pkce.verifier);
          expectOAuthError(res, { errors: ['invalid_grant'], why: `POST /token with a code issued for redirect_uri ${s.app.redirect_uris[1]} but redirect_uri=${s.app.redirect_uris[0]} (also registered) must be refused with 400 {"error":"invalid_grant"}.` });
        },
      },
      {
        id: 'state',
        title: 'state comes back exactly as sent (any characters), on success and on error redirects, and is absent when not sent',
        hint: 'Add state to the redirect URI with a URL builder (URLSearchParams, urlencode), never by string concatenation, and on every redirect to the client, errors included.',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          await freshCode(ctx, s, s.spa, browser);
          const states = ['a b&c=d+e%20f', 'Zoë 🚀 日本語', `'"<>#?/;`, ctx.random.string(300, 'abcdefghijklmnopqrstuvwxyz0123456789-._~'), '%E2%82%AC'];
          for (const state of states) {
            const { auth, res } = await authorize(ctx, s, { client: s.spa, pkce: pkcePair(ctx.random), state }, browser);
            if (auth.state !== state || auth.repeated.includes('state') || !auth.code) {
              browser.fail({ message: `The state sent was ${JSON.stringify(state)}; the client got back ${JSON.stringify(auth.state)}. Encode it as a query value so the client reads back exactly what it sent.`, expected: `state=${encodeURIComponent(state)}`, received: `Location: ${res.header('location')}`, res });
            }
          }
          const errorState = states[0];
          const errors: [[string, string][], string, string][] = [
            [[['response_type', 'token'], ['client_id', s.spa.client_id], ['redirect_uri', s.spa.redirect_uris[0]], ['state', errorState]], 'unsupported_response_type', 'response_type=token'],
            [[['response_type', 'code'], ['client_id', s.spa.client_id], ['redirect_uri', s.spa.redirect_uris[0]], ['state', errorState]], 'invalid_request', 'no code_challenge'],
          ];
          for (const [pairs, error, what] of errors) {
            const nav = await browser.navigate(authorizePath(pairs));
            const auth = nav.leftTo && readAuthorizationResponse(nav.leftTo, s.spa.redirect_uris[0]);
            if (!auth || auth.error !== error || auth.state !== errorState) {
              browser.fail({
                message: `An error redirect (${what}) must carry the state too, exactly as sent: the client matches every response, errors included, to its request by state.`,
                expected: `${s.spa.redirect_uris[0]}?error=${error}&state=${encodeURIComponent(errorState)}`,
                received: nav.leftTo?.href ?? `HTTP ${nav.response.status} (no redirect)`,
                res: nav.response,
              });
            }
          }
          const last = await authorize(ctx, s, { client: s.spa, pkce: pkcePair(ctx.random) }, browser);
          if (last.auth.params.has('state')) browser.fail({ message: 'The client sent no state, so the redirect must not carry one (a "state=undefined" or "state=" confuses the client).', expected: `${s.spa.redirect_uris[0]}?code=... (no state)`, received: last.auth.url.href, res: last.res });
        },
      },
      {
        id: 'authorization-errors',
        title: 'PKCE is required and only S256: no challenge, plain, or no method are error redirects; response_type other than code is unsupported_response_type',
        hint: 'After client_id and redirect_uri are valid, redirect to the redirect_uri with error=invalid_request when code_challenge is missing or code_challenge_method is not exactly S256 (absent means plain).',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          await freshCode(ctx, s, s.app, browser);
          const base = (): [string, string][] => [['response_type', 'code'], ['client_id', s.app.client_id], ['redirect_uri', s.app.redirect_uris[0]], ['state', ctx.random.string(10)]];
          const p = pkcePair(ctx.random);
          const cases: [[string, string][], string, string][] = [
            [base(), 'invalid_request', 'without code_challenge (PKCE is required)'],
            [[...base(), ['code_challenge', p.verifier], ['code_challenge_method', 'plain']], 'invalid_request', 'with code_challenge_method=plain'],
            [[...base(), ['code_challenge', p.challenge]], 'invalid_request', 'with a code_challenge but no code_challenge_method (which means plain)'],
            [[...base(), ['code_challenge', p.challenge], ['code_challenge_method', 'S512']], 'invalid_request', 'with code_challenge_method=S512'],
            [[...base(), ['code_challenge', p.challenge.slice(0, 42)], ['code_challenge_method', 'S256']], 'invalid_request', 'with a code_challenge of 42 characters (an S256 challenge is 43 base64url characters)'],
            [[...base().map(([k, v]): [string, string] => (k === 'response_type' ? [k, 'token'] : [k, v])), ['code_challenge', p.challenge], ['code_challenge_method', 'S256']], 'unsupported_response_type', 'with response_type=token (the implicit flow)'],
          ];
          for (const [pairs, error, what] of cases) {
            const nav = await browser.navigate(authorizePath(pairs));
            const auth = nav.leftTo && readAuthorizationResponse(nav.leftTo, s.app.redirect_uris[0]);
            if (!auth || !auth.matchesRedirectUri || auth.code || auth.error !== error) {
              browser.fail({
                message: `GET /authorize ${what} must redirect to the client with error=${error} and no code${auth?.code ? `; your server issued a code` : ''}.`,
                expected: `HTTP 302\nLocation: ${s.app.redirect_uris[0]}?error=${error}&state=...`,
                received: nav.leftTo?.href ?? `HTTP ${nav.response.status} (no redirect)`,
                res: nav.response,
              });
            }
          }
        },
      },
      {
        id: 'pkce-verifier',
        title: 'The code_verifier must be 43-128 unreserved characters and hash (S256) to the challenge; wrong, missing or malformed verifiers are invalid_grant',
        hint: 'Check the verifier against /^[A-Za-z0-9\\-._~]{43,128}$/ first, then BASE64URL(SHA256(verifier)) === code_challenge; otherwise 400 {"error":"invalid_grant"}.',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          const refused: [PkcePair, string | undefined, string][] = [];
          const good = pkcePair(ctx.random);
          refused.push([good, pkcePair(ctx.random).verifier, 'another valid verifier (not the one hashed into the challenge)']);
          refused.push([good, undefined, 'no code_verifier at all']);
          const short = pkcePair(ctx.random, 42);
          refused.push([short, short.verifier, 'a 42-character verifier (RFC 7636: 43 to 128) whose S256 does match the challenge']);
          const long = pkcePair(ctx.random, 129);
          refused.push([long, long.verifier, 'a 129-character verifier whose S256 does match the challenge']);
          // Valid characters around four forbidden ones, so the verifier is never valid by chance.
          const oddVerifier = `${pkceVerifier(ctx.random, 23)}+/= ${pkceVerifier(ctx.random, 23)}`;
          const odd: PkcePair = { verifier: oddVerifier, challenge: s256(oddVerifier), method: 'S256' };
          refused.push([odd, odd.verifier, 'a verifier with characters outside A-Z a-z 0-9 - . _ ~ (here + / = or space) whose S256 matches']);
          for (const [pkce, verifier, what] of refused) {
            const { code, redirectUri } = await freshCode(ctx, s, s.app, browser, { pkce });
            const res = await redeem(ctx, s.app, code, redirectUri, verifier);
            expectOAuthError(res, { errors: ['invalid_grant', 'invalid_request'], why: `POST /token with ${what} must be refused with 400 {"error":"invalid_grant"}.` });
          }
          for (const n of [43, 128]) {
            const pkce = pkcePair(ctx.random, n);
            const { code, redirectUri } = await freshCode(ctx, s, s.app, browser, { pkce });
            const res = await redeem(ctx, s.app, code, redirectUri, pkce.verifier);
            expectTokenResponse(res, { why: `POST /token with a ${n}-character verifier (a valid length) that matches the challenge must succeed.`, noStore: false });
          }
        },
      },
      {
        id: 'code-single-use',
        title: 'A code works once: a replay is invalid_grant and revokes the tokens it issued; a code only works for its own client',
        hint: 'Mark the code used when it is redeemed; when a used code comes back, answer invalid_grant and revoke the access and refresh tokens issued from it (RFC 6749 4.1.2).',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          const { code, pkce, redirectUri } = await freshCode(ctx, s, s.app, browser);
          const first = expectTokenResponse(await redeem(ctx, s.app, code, redirectUri, pkce.verifier), { why: 'POST /token with a fresh code must succeed.', noStore: false, refresh: true });
          await expectMe(ctx, first.access_token, s.user, s.app, 'the access token from the code');
          const replay = await redeem(ctx, s.app, code, redirectUri, pkce.verifier);
          expectOAuthError(replay, { errors: ['invalid_grant'], why: 'POST /token with a code that was already redeemed must be refused with 400 {"error":"invalid_grant"}: a code is single-use.' });
          await expectRevoked(ctx, first.access_token, 'A replayed code means someone else may hold it: the access token issued from it must be revoked (401 at /me).');
          const r = await refresh(ctx, s.app, first.refresh_token!);
          expectOAuthError(r, { errors: ['invalid_grant'], why: 'A replayed code means someone else may hold it: the refresh token issued from it must be revoked too (400 {"error":"invalid_grant"}).' });

          const other = await freshCode(ctx, s, s.app, browser);
          const stolen = await redeem(ctx, s.spa, other.code, other.redirectUri, other.pkce.verifier);
          expectOAuthError(stolen, { errors: ['invalid_grant'], why: `POST /token by client ${s.spa.client_id} with a code issued to ${s.app.client_id} must be refused with 400 {"error":"invalid_grant"}.` });
          const unknown = await redeem(ctx, s.app, ctx.random.string(43), redirectUri, pkce.verifier);
          expectOAuthError(unknown, { errors: ['invalid_grant'], why: 'POST /token with a code your server never issued must be refused with 400 {"error":"invalid_grant"}.' });
        },
      },
      {
        id: 'token-errors',
        title: 'Token endpoint errors follow RFC 6749 5.2: unsupported_grant_type, invalid_request, invalid_client (401), as JSON with no-store, never 500',
        hint: 'Answer every token endpoint error as JSON {"error": "..."} with Cache-Control: no-store; 401 invalid_client (with WWW-Authenticate when Basic was used) for failed client authentication.',
        async run(ctx) {
          const s = setup(ctx);
          const app = creds(s.app);
          const post = (params: Record<string, string>, client: ClientCredentials = app, auth?: ClientAuthMethod) => tokenRequest(ctx.http, '/token', params, client, { auth });
          expectOAuthError(await post({ grant_type: 'password', username: s.user.username, password: s.user.password }), { errors: ['unsupported_grant_type'], noStore: true, why: 'POST /token with grant_type=password (not supported) must answer 400 {"error":"unsupported_grant_type"}.' });
          expectOAuthError(await post({ grant_type: `urn:x-${ctx.random.word()}` }), { errors: ['unsupported_grant_type'], noStore: true, why: 'POST /token with an unknown grant_type must answer 400 {"error":"unsupported_grant_type"}.' });
          expectOAuthError(await post({ code: ctx.random.string(20) }), { errors: ['invalid_request'], noStore: true, why: 'POST /token without grant_type must answer 400 {"error":"invalid_request"}.' });
          const wrongSecret = { clientId: s.app.client_id, clientSecret: `${s.app.client_secret}x` };
          const basic = await post({ grant_type: 'refresh_token', refresh_token: ctx.random.string(40) }, wrongSecret, 'client_secret_basic');
          expectOAuthError(basic, { errors: ['invalid_client'], status: [401], noStore: true, why: 'POST /token with a wrong client secret (HTTP Basic) must answer 401 {"error":"invalid_client"}.' });
          basic.expectHeader('www-authenticate', /^\s*basic\b/i, 'A 401 invalid_client for a client that tried HTTP Basic must carry `WWW-Authenticate: Basic ...` (RFC 6749 5.2).', 'Basic realm="token"');
          expectOAuthError(await post({ grant_type: 'refresh_token', refresh_token: ctx.random.string(40) }, wrongSecret, 'client_secret_post'), { errors: ['invalid_client'], status: [401], noStore: true, why: 'POST /token with a wrong client_secret in the form must answer 401 {"error":"invalid_client"}.' });
          expectOAuthError(await post({ grant_type: 'refresh_token', refresh_token: ctx.random.string(40) }, { clientId: s.app.client_id }, 'none'), { errors: ['invalid_client'], status: [401], noStore: true, why: `POST /token from the confidential client ${s.app.client_id} without its secret must answer 401 {"error":"invalid_client"}.` });
          expectOAuthError(await post({ grant_type: 'refresh_token', refresh_token: ctx.random.string(40) }, { clientId: `${s.spa.client_id}-${ctx.random.string(3)}` }, 'none'), { errors: ['invalid_client'], status: [401], noStore: true, why: 'POST /token with an unknown client_id must answer 401 {"error":"invalid_client"}.' });
          const json = await ctx.http.request('/token', { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`${s.app.client_id}:${s.app.client_secret}`).toString('base64')}` }, json: { grant_type: 'authorization_code', code: ctx.random.string(20) } });
          expectOAuthError(json, { errors: ['invalid_request', 'invalid_grant'], noStore: true, why: 'POST /token with a JSON body (the token endpoint takes application/x-www-form-urlencoded) must answer 400 with an OAuth error, not 500 or HTML.' });
        },
      },
      {
        id: 'duplicate-params',
        title: 'A parameter given twice is refused (RFC 6749 3.1, 3.2): no code, no token, no redirect to the second value',
        hint: 'Refuse any request in which a parameter appears more than once: 400 at /authorize (or an error redirect with invalid_request once client_id and redirect_uri are known good), 400 invalid_request at /token. Do not let first-wins or last-wins parsing pick one.',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          await freshCode(ctx, s, s.app, browser);
          const reg = s.app.redirect_uris[0];
          const evil = `https://evil-${ctx.random.word()}.example/cb`;
          const p = pkcePair(ctx.random);
          const base = (redirects: string[], extra: [string, string][] = []): [string, string][] => [
            ['response_type', 'code'],
            ['client_id', s.app.client_id],
            ...redirects.map((r): [string, string] => ['redirect_uri', r]),
            ['code_challenge', p.challenge],
            ['code_challenge_method', 'S256'],
            ...extra,
          ];
          const cases: [[string, string][], string][] = [
            [base([reg, evil], [['state', 'x']]), `redirect_uri twice (${reg}, then ${evil})`],
            [base([evil, reg], [['state', 'x']]), `redirect_uri twice (${evil}, then ${reg})`],
            [base([reg], [['state', 'one'], ['state', 'two']]), 'state twice'],
            [[...base([reg], [['state', 'x']]), ['code_challenge', pkcePair(ctx.random).challenge]], 'code_challenge twice'],
            [[...base([reg], [['state', 'x']]), ['client_id', s.spa.client_id]], `client_id twice (${s.app.client_id}, then ${s.spa.client_id})`],
          ];
          for (const [pairs, what] of cases) {
            const nav = await browser.navigate(authorizePath(pairs), { follow: false });
            const location = nav.response.header('location');
            const auth = nav.leftTo && readAuthorizationResponse(nav.leftTo, reg);
            const ok = (nav.response.status === 400 && location === undefined) || (auth && auth.matchesRedirectUri && auth.url.href.startsWith(reg) && auth.error === 'invalid_request' && !auth.code);
            if (!ok) {
              browser.fail({
                message: `GET /authorize with ${what} must be refused: 400 without a redirect (or, when client_id and redirect_uri are each given once, a redirect to the registered URI with error=invalid_request). Your server answered ${nav.response.status}${location ? ` with Location: ${location}` : ''}.`,
                expected: 'HTTP 400 (no Location header)',
                res: nav.response,
              });
            }
          }
          const one = await freshCode(ctx, s, s.app, browser);
          const other = await freshCode(ctx, s, s.app, browser);
          const dup = (pairs: [string, string][]) => tokenRequest(ctx.http, '/token', pairs, creds(s.app));
          expectOAuthError(await dup([['grant_type', 'authorization_code'], ['code', one.code], ['code', other.code], ['redirect_uri', one.redirectUri], ['code_verifier', one.pkce.verifier]]), { errors: ['invalid_request'], why: 'POST /token with `code` twice must answer 400 {"error":"invalid_request"}.' });
          expectOAuthError(await dup([['grant_type', 'authorization_code'], ['code', other.code], ['redirect_uri', other.redirectUri], ['code_verifier', pkcePair(ctx.random).verifier], ['code_verifier', other.pkce.verifier]]), { errors: ['invalid_request'], why: 'POST /token with `code_verifier` twice (a wrong one, then the right one) must answer 400 {"error":"invalid_request"}.' });
          expectOAuthError(await dup([['grant_type', 'client_credentials'], ['grant_type', 'authorization_code'], ['code', one.code], ['redirect_uri', one.redirectUri], ['code_verifier', one.pkce.verifier]]), { errors: ['invalid_request'], why: 'POST /token with `grant_type` twice must answer 400 {"error":"invalid_request"}.' });
        },
      },
      {
        id: 'refresh-rotation',
        title: 'Refresh tokens rotate; reusing an old one is invalid_grant and revokes the whole family; they only work for their own client',
        hint: 'On each refresh issue a new refresh token and mark the old one used. When a used one comes back, answer invalid_grant and revoke every token of that grant (all refresh tokens and access tokens descending from the code).',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          const t1 = await tokensFor(ctx, s, s.app, browser, 'POST /token with a fresh code must succeed.');
          const res2 = await refresh(ctx, s.app, t1.refresh_token!);
          const t2 = expectTokenResponse(res2, { why: 'POST /token with grant_type=refresh_token and the refresh token from the code must answer 200 with new tokens.', noStore: false, refresh: true });
          expectThat(t2.refresh_token !== t1.refresh_token, 'A refresh must rotate the refresh token: answer a new one, different from the one sent.', { expected: 'a new "refresh_token"', received: 'the same refresh_token back', res: res2 });
          await expectMe(ctx, t2.access_token, s.user, s.app, 'the access token from the refresh');
          const t3 = expectTokenResponse(await refresh(ctx, s.app, t2.refresh_token!), { why: 'Refreshing with the newest refresh token must succeed.', noStore: false, refresh: true });

          const reuse = await refresh(ctx, s.app, t1.refresh_token!);
          expectOAuthError(reuse, { errors: ['invalid_grant'], why: 'POST /token with a refresh token that was already used (rotated away) must be refused with 400 {"error":"invalid_grant"}.' });
          const after = await refresh(ctx, s.app, t3.refresh_token!);
          expectOAuthError(after, { errors: ['invalid_grant'], why: 'A rotated refresh token came back, so it was stolen or leaked: the whole family must be revoked, including the newest refresh token (the thief may hold it), which must now be refused with invalid_grant.' });
          await expectRevoked(ctx, t3.access_token, 'Reuse of a rotated refresh token revokes the whole family, access tokens included:');

          // Another grant of the same user is not affected, and a refresh token only works for its own client.
          const g = await tokensFor(ctx, s, s.app, browser, 'POST /token with a fresh code must succeed.');
          const g2 = expectTokenResponse(await refresh(ctx, s.app, g.refresh_token!), { why: 'A refresh in another grant (another authorization of the same user) must still succeed: only the family whose token was reused is revoked.', noStore: false, refresh: true });
          const stolen = await refresh(ctx, s.spa, g2.refresh_token!, 'none');
          expectOAuthError(stolen, { errors: ['invalid_grant'], why: `POST /token by client ${s.spa.client_id} with a refresh token issued to ${s.app.client_id} must be refused with 400 {"error":"invalid_grant"}.` });
        },
      },
      {
        id: 'access-token-jwt',
        title: 'A JWT access token verifies with the keys at jwks_uri (issuer, sub, exp); an opaque one is long and random',
        hint: 'If your access tokens are JWTs, publish jwks_uri in the metadata with the public key (no private members) and sign with its kid; iss = your issuer, sub = the username, exp = now + TTL.',
        async run(ctx) {
          const s = setup(ctx);
          const browser = new Browser(ctx.http);
          const t = await tokensFor(ctx, s, s.app, browser, 'POST /token with a fresh code must succeed.');
          const parts = t.access_token.split('.');
          let header: Record<string, unknown> | undefined;
          try {
            header = parts.length === 3 ? JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) : undefined;
          } catch {
            header = undefined;
          }
          if (!header || typeof header.alg !== 'string') {
            expectThat(t.access_token.length >= 22, 'An opaque access token must be long and random (at least 128 bits, e.g. 32 random bytes in base64url).', { received: t.access_token });
            ctx.note('opaque access tokens: nothing to verify offline');
            return;
          }
          const metaRes = await ctx.http.get('/.well-known/oauth-authorization-server');
          const meta = expectJson(metaRes, 200);
          expectThat(typeof meta?.jwks_uri === 'string', 'Your access tokens are JWTs, so the metadata must name the key set that verifies them: "jwks_uri".', { expected: `"jwks_uri": "${s.issuer}/jwks.json"`, res: metaRes });
          const jwksRes = await ctx.http.get(meta.jwks_uri);
          const jwks = expectJson(jwksRes, 200, `GET ${meta.jwks_uri} must answer 200 with the JSON Web Key Set.`);
          const keys = Array.isArray(jwks?.keys) ? (jwks.keys as Record<string, unknown>[]) : [];
          for (const k of keys) {
            const leaked = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].filter((m) => k && typeof k === 'object' && m in k);
            expectThat(leaked.length === 0, `The JWKS publishes private key material (${leaked.join(', ')}): anyone could sign tokens your API trusts.`, { res: jwksRes });
          }
          const jose = await import('jose');
          try {
            const { payload } = await jose.jwtVerify(t.access_token, jose.createLocalJWKSet(jwks), { issuer: s.issuer, algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'], requiredClaims: ['exp', 'sub'] });
            expectThat(payload.sub === s.user.username, `The access token's "sub" must be the username (${s.user.username}).`, { received: JSON.stringify(payload) });
            const lifetime = (payload.exp as number) - (typeof payload.iat === 'number' ? payload.iat : Math.floor(Date.now() / 1000));
            expectThat(Math.abs(lifetime - s.ttl) <= 60, `The access token must live ACCESS_TOKEN_TTL_SECONDS (${s.ttl} s).`, { expected: `exp - iat = ${s.ttl}`, received: JSON.stringify(payload) });
          } catch (err) {
            if (err instanceof CheckFailure) throw err;
            throw new CheckFailure({
              message: `The JWT access token does not verify with your JWKS as a resource server would check it (jose, asymmetric algorithms only, iss = ${s.issuer}): ${(err as Error).message}.`,
              expected: `a JWS with "kid" of a key in ${meta.jwks_uri}, "iss": "${s.issuer}", "sub", "exp"`,
              received: `header ${JSON.stringify(header)}`,
              exchange: jwksRes.exchange,
            });
          }
        },
      },
      {
        id: 'certified-client',
        title: 'A certified client library (oauth4webapi) completes discovery, the code flow with PKCE, a refresh and a call to /me',
        hint: 'The library is strict where the RFCs are: issuer equal in metadata and iss, JSON content types, token_type, numeric expires_in, state echoed. Its error message names the rule.',
        timeoutMs: 20_000,
        async run(ctx) {
          const s = setup(ctx);
          const oauth = await import('oauth4webapi');
          const browser = new Browser(ctx.http);
          const options = { [oauth.customFetch]: probeFetch(ctx.http), [oauth.allowInsecureRequests]: true };
          const issuer = new URL(s.issuer);
          const client = { client_id: s.app.client_id };
          const clientAuth = oauth.ClientSecretBasic(s.app.client_secret!);
          const redirectUri = s.app.redirect_uris[1];
          let step = 'discovery (GET /.well-known/oauth-authorization-server)';
          try {
            const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }));
            step = 'the authorization response (the redirect back to the client)';
            const verifier = oauth.generateRandomCodeVerifier();
            const challenge = await oauth.calculatePKCECodeChallenge(verifier);
            const state = oauth.generateRandomState();
            const url = new URL(as.authorization_endpoint!);
            for (const [k, v] of [['client_id', client.client_id], ['redirect_uri', redirectUri], ['response_type', 'code'], ['code_challenge', challenge], ['code_challenge_method', 'S256'], ['state', state]]) url.searchParams.set(k, v);
            const { nav } = await signInAndAuthorize(ctx, s, browser, `${url.pathname}${url.search}`);
            if (!nav.leftTo) browser.fail({ message: 'After sign-in, your server did not redirect the browser back to the client.', res: nav.response });
            const params = oauth.validateAuthResponse(as, client, nav.leftTo!, state);
            step = 'the code exchange (POST /token, grant_type=authorization_code)';
            const tokens = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, options));
            step = 'the refresh (POST /token, grant_type=refresh_token)';
            const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, options));
            expectThat(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'The refresh through oauth4webapi must return a new refresh token.', {});
            step = 'GET /me with the access token';
            const res = await oauth.protectedResourceRequest(refreshed.access_token, 'GET', new URL(`${s.issuer}/me`), undefined, undefined, options);
            expectThat(res.status === 200, `GET /me with the access token oauth4webapi obtained must answer 200, got ${res.status}.`, {});
          } catch (err) {
            if (err instanceof CheckFailure) throw err;
            const e = err as Error & { code?: string; error?: string; cause?: unknown };
            throw new CheckFailure({
              message: `oauth4webapi (a certified OAuth client) refused your server during ${step}: ${e.message}${e.code ? ` [${e.code}]` : ''}${e.error ? ` (error=${e.error})` : ''}.`,
              expected: 'what RFC 6749, 7636 and 8414 require (see the README)',
              received: e.cause && typeof e.cause === 'object' ? JSON.stringify(e.cause).slice(0, 400) : undefined,
              exchange: ctx.http.lastExchange,
              transcript: browser.transcript(),
              transcriptTitle: 'Browser hops (method URL -> status, Location, cookies)',
            });
          }
        },
      },
    ],
  },
  import.meta.dirname,
);

