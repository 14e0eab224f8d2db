// jwt-auth: the server signs RS256 access tokens with a key the grader hands it (JWT_PRIVATE_KEY), so the
// grader, holding the same key, can mint tokens the server must trust, and forge the ones it must refuse.
// Every token is made with jose (a kept JOSE library); only the deliberately malformed ones (alg "None",
// a changed payload under an old signature) are assembled from jose's base64url encoder.
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailure, defineLab, expectEqual, expectJson, expectThat, type CheckContext, type HttpResponse, type Random, twoAccounts } from '../../grader/index.ts';

type Jose = typeof import('jose');
let joseModule: Promise<Jose> | undefined;
/** jose is loaded when a check needs it, so listing the labs stays fast. */
const loadJose = () => (joseModule ??= import('jose'));

interface User {
  username: string;
  password: string;
  roles: string[];
}

interface Setup {
  jose: Jose;
  /** The server's signing key (from JWT_PRIVATE_KEY), imported for jose. */
  signingKey: CryptoKey;
  /** Its public half, to verify the tokens the server issues. */
  verifyKey: CryptoKey;
  publicPem: string;
  publicJwk: JsonWebKey;
  kid: string;
  issuer: string;
  audience: string;
  ttl: number;
  users: User[];
  admin: User;
  member: User;
}

async function setup(ctx: CheckContext): Promise<Setup> {
  const jose = await loadJose();
  const pem = ctx.env.JWT_PRIVATE_KEY;
  const publicKey = createPublicKey(pem);
  const users = JSON.parse(ctx.env.USERS) as User[];
  return {
    jose,
    signingKey: await jose.importPKCS8(pem, 'RS256'),
    verifyKey: await jose.importSPKI(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'RS256'),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicJwk: publicKey.export({ format: 'jwk' }),
    kid: ctx.env.JWT_KID,
    issuer: ctx.env.JWT_ISSUER,
    audience: ctx.env.JWT_AUDIENCE,
    ttl: Number(ctx.env.ACCESS_TOKEN_TTL_SECONDS),
    users,
    admin: users.find((u) => u.roles.includes('admin'))!,
    member: users.find((u) => !u.roles.includes('admin'))!,
  };
}

const now = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;

/** Valid claims for `sub`: the grader's tokens always live an hour on either side of now, never near a boundary. */
function claimsFor(s: Setup, sub: string, roles: string[]): Record<string, unknown> {
  const t = now();
  return { iss: s.issuer, aud: s.audience, sub, roles, iat: t - 60, exp: t + HOUR };
}

interface MintOptions {
  claims?: Record<string, unknown>;
  /** Claims to leave out. */
  omit?: string[];
  header?: Record<string, unknown>;
  key?: CryptoKey | Uint8Array;
  alg?: string;
}

/** A token signed by jose: by default RS256 with the server's own key and kid, valid for an hour. */
async function mint(s: Setup, base: Record<string, unknown>, o: MintOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = { ...base, ...(o.claims ?? {}) };
  for (const k of o.omit ?? []) delete claims[k];
  return new s.jose.SignJWT(claims)
    .setProtectedHeader({ alg: o.alg ?? 'RS256', typ: 'JWT', kid: s.kid, ...(o.header ?? {}) })
    .sign(o.key ?? s.signingKey);
}

/** header.payload.signature from plain objects, for tokens no library will sign (alg "None", edited payloads). */
function assemble(s: Setup, header: object, payload: object, signature = ''): string {
  const enc = (o: object) => s.jose.base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

function me(ctx: CheckContext, token: string): Promise<HttpResponse> {
  return ctx.http.get('/me', { headers: bearer(token) });
}

/** A control: a valid token is accepted, so a refusal later in the check means something. */
async function expectAccepted(ctx: CheckContext, token: string, what: string): Promise<HttpResponse> {
  const res = await me(ctx, token);
  res.expectStatus(200, `GET /me with ${what} must answer 200: the token is signed with JWT_PRIVATE_KEY, carries kid JWT_KID and valid claims.`);
  return res;
}

async function expectRejected(ctx: CheckContext, token: string, what: string, path = '/me'): Promise<HttpResponse> {
  const res = await ctx.http.get(path, { headers: bearer(token) });
  res.expectStatus(401, `GET ${path} with ${what} must be refused with 401 Unauthorized; your server answered ${res.status}${res.status < 300 ? ', so anyone can forge such a token' : ''}.`);
  return res;
}

async function login(ctx: CheckContext, user: User): Promise<{ res: HttpResponse; body: any }> {
  const res = await ctx.http.post('/login', { username: user.username, password: user.password });
  const body = expectJson(res, 200, `POST /login as ${user.username} with the right password must answer 200 with the tokens.`);
  expectThat(body && typeof body.access_token === 'string' && typeof body.refresh_token === 'string' && body.refresh_token.length > 0, 'The login response must carry `access_token` and `refresh_token` strings.', {
    expected: '{"access_token": "eyJ...", "token_type": "Bearer", "expires_in": <seconds>, "refresh_token": "..."}',
    res,
  });
  return { res, body };
}

function decoded(s: Setup, token: string): string {
  try {
    return `header ${JSON.stringify(s.jose.decodeProtectedHeader(token))}\npayload ${JSON.stringify(s.jose.decodeJwt(token))}`;
  } catch {
    return `${token.slice(0, 80)}${token.length > 80 ? '...' : ''} (not a decodable JWT)`;
  }
}

/** Verifies a token the server issued, as any relying party would (jose, RS256 only, iss, aud), and its claims. */
async function expectIssuedToken(s: Setup, token: string, user: User, res: HttpResponse, where: string): Promise<void> {
  const { jose } = s;
  let verified: Awaited<ReturnType<Jose['jwtVerify']>>;
  try {
    verified = await jose.jwtVerify(token, s.verifyKey, { algorithms: ['RS256'], issuer: s.issuer, audience: s.audience, requiredClaims: ['exp', 'sub'] });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const why =
      e.code === 'ERR_JOSE_ALG_NOT_ALLOWED' ? 'its `alg` is not RS256' :
      e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'its signature does not verify with the public half of JWT_PRIVATE_KEY' :
      e.code === 'ERR_JWT_EXPIRED' ? 'it is already expired' :
      e.message ?? String(err);
    throw new CheckFailure({
      message: `The access token from ${where} does not verify: ${why}.`,
      expected: `a JWS signed RS256 with JWT_PRIVATE_KEY, with "iss": "${s.issuer}", "aud": "${s.audience}", "sub", "exp"`,
      received: decoded(s, token),
      exchange: res.exchange,
    });
  }
  const { payload, protectedHeader } = verified;
  const fail = (message: string, expected: string): never => {
    throw new CheckFailure({ message, expected, received: decoded(s, token), exchange: res.exchange });
  };
  if (protectedHeader.kid !== s.kid) fail(`The access token from ${where} must name its key in the header: "kid": "${s.kid}" (JWT_KID).`, `header {"alg":"RS256","kid":"${s.kid}",...}`);
  if (payload.sub !== user.username) fail(`The access token from ${where} must carry the username in "sub".`, `"sub": "${user.username}"`);
  const roles = Array.isArray(payload.roles) ? [...(payload.roles as unknown[])].sort() : payload.roles;
  expectEqual(roles, [...user.roles].sort(), `The access token from ${where} must carry the user's roles from USERS in a "roles" array.`, res);
  const lifetime = (payload.exp as number) - (typeof payload.iat === 'number' ? payload.iat : now());
  if (Math.abs(lifetime - s.ttl) > 60) {
    fail(`The access token from ${where} must live ACCESS_TOKEN_TTL_SECONDS (${s.ttl} s): "exp" = issue time + ${s.ttl}.`, `exp - iat = ${s.ttl}`);
  }
}

function expectBearerChallenge(res: HttpResponse, why: string): void {
  res.expectStatus(401, why);
  res.expectHeader(
    'www-authenticate',
    (v) => /^\s*bearer(\s|,|$)/i.test(v),
    'A 401 from a Bearer-protected route must say how to authenticate: `WWW-Authenticate: Bearer` (e.g. `Bearer realm="api", error="invalid_token"`).',
    'Bearer (e.g. Bearer realm="api", error="invalid_token")',
  );
}

function usersEnv(r: Random): string {
  // an admin, then a member
  return JSON.stringify(twoAccounts(r, 16, [{ roles: ['admin', 'user'] }, { roles: ['user'] }]));
}

export default defineLab(
  {
    id: 'jwt-auth',
    title: 'JWT authentication: access tokens, roles and refresh rotation',
    track: 'security',
    summary: 'Log users in with RS256 JWTs, verify every token strictly (alg, kid, signature, exp/nbf, iss/aud), tell 401 from 403, and rotate refresh tokens.',
    difficulty: 'intermediate',
    estimatedMinutes: 90,
    questions: [23, 15, 44],
    env: {
      JWT_PRIVATE_KEY: {
        description: 'RSA private key (PKCS#8 PEM) the server signs access tokens with (RS256). The grader keeps a copy to mint test tokens.',
        // One of a few test keys, picked by the seed: --seed replays the exact tokens, and no run pays for RSA key generation.
        value: (r) => r.pick((JSON.parse(readFileSync(join(import.meta.dirname, 'signing-keys.json'), 'utf8')) as { keys: string[] }).keys),
      },
      JWT_KID: { description: 'Key id: the `kid` header of every token the server issues, and of its key in the JWKS.', value: (r) => `key-${r.string(10)}` },
      JWT_ISSUER: { description: 'The `iss` claim the server puts in its tokens and requires.', value: (r) => `https://auth.${r.word()}.example` },
      JWT_AUDIENCE: { description: 'The `aud` value the server puts in its tokens and requires.', value: (r) => `api-${r.word()}` },
      ACCESS_TOKEN_TTL_SECONDS: { description: 'Lifetime of an access token, in seconds.', value: (r) => String(r.int(5, 15) * 60) },
      USERS: { description: 'JSON array of accounts: [{"username","password","roles":[...]}].', value: (r) => usersEnv(r) },
    },
    checks: [
      {
        id: 'login',
        title: 'POST /login issues an RS256 access token and a refresh token; wrong credentials are 401',
        hint: 'Sign {iss, aud, sub, roles, iat, exp} with RS256 and JWT_PRIVATE_KEY, header {"alg":"RS256","typ":"JWT","kid":JWT_KID}; answer 401 for a wrong password or an unknown user.',
        async run(ctx) {
          const s = await setup(ctx);
          const { res, body } = await login(ctx, s.member);
          expectThat(typeof body.token_type === 'string' && body.token_type.toLowerCase() === 'bearer', 'The login response must say `"token_type": "Bearer"`.', { expected: '"token_type": "Bearer"', res });
          expectThat(typeof body.expires_in === 'number' && Math.abs(body.expires_in - s.ttl) <= 60, `The login response must say how long the access token lives: "expires_in": ${s.ttl} (ACCESS_TOKEN_TTL_SECONDS).`, {
            expected: `"expires_in": ${s.ttl}`,
            received: `"expires_in": ${JSON.stringify(body.expires_in)}`,
            res,
          });
          await expectIssuedToken(s, body.access_token, s.member, res, 'POST /login');

          for (const attempt of [
            { username: s.member.username, password: `${s.member.password}x`, what: 'a wrong password' },
            { username: s.admin.username, password: s.member.password, what: "another user's password" },
            { username: `${s.member.username}-${ctx.random.string(4)}`, password: s.member.password, what: 'an unknown username' },
          ]) {
            const bad = await ctx.http.post('/login', { username: attempt.username, password: attempt.password });
            bad.expectStatus(401, `POST /login with ${attempt.what} must be refused with 401.`);
            expectThat(!/"access_token"\s*:\s*"/.test(bad.text) && !/"refresh_token"\s*:\s*"/.test(bad.text), `A refused login (${attempt.what}) must not carry any token.`, { res: bad });
          }
        },
      },
      {
        id: 'jwks',
        title: 'GET /.well-known/jwks.json publishes the public key (and nothing private)',
        hint: 'Publish {"keys":[{"kty":"RSA","kid":JWT_KID,"use":"sig","alg":"RS256","n":...,"e":...}]}: only the public members n and e, never d, p, q, dp, dq, qi.',
        async run(ctx) {
          const s = await setup(ctx);
          const res = await ctx.http.get('/.well-known/jwks.json');
          const body = expectJson(res, 200, 'GET /.well-known/jwks.json must answer 200 with the JSON Web Key Set.');
          expectThat(body && Array.isArray(body.keys) && body.keys.length > 0, 'The JWKS must be an object with a non-empty `keys` array.', { expected: '{"keys": [{"kty": "RSA", "kid": "...", "n": "...", "e": "..."}]}', res });
          const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
          for (const key of body.keys as Record<string, unknown>[]) {
            const leaked = PRIVATE.filter((m) => key && typeof key === 'object' && m in key);
            expectThat(leaked.length === 0, `The JWKS publishes private key material (${leaked.join(', ')}): anyone can now sign tokens your server trusts.`, {
              expected: 'public members only: kty, kid, use, alg, n, e',
              received: `a key with members ${Object.keys(key ?? {}).join(', ')}`,
              res,
            });
          }
          const key = (body.keys as Record<string, unknown>[]).find((k) => k?.kid === s.kid);
          expectThat(key, `The JWKS must contain the key with "kid": "${s.kid}" (JWT_KID).`, { expected: `a key with "kid": "${s.kid}"`, res });
          expectThat(key.kty === 'RSA' && key.n === s.publicJwk.n && key.e === s.publicJwk.e, `The key "${s.kid}" in the JWKS must be the public half of JWT_PRIVATE_KEY (same n and e).`, {
            expected: `{"kty":"RSA","kid":"${s.kid}","n":"${s.publicJwk.n!.slice(0, 24)}...","e":"${s.publicJwk.e}"}`,
            received: JSON.stringify(key).slice(0, 300),
            res,
          });
          // Usable by a standard library: jose verifies a token against the published set.
          const token = await mint(s, claimsFor(s, s.member.username, s.member.roles));
          try {
            await s.jose.jwtVerify(token, s.jose.createLocalJWKSet(body), { algorithms: ['RS256'] });
          } catch (err) {
            res.fail(`A JWT library (jose) cannot verify a token signed with your key using this JWKS: ${(err as Error).message}.`, '{"keys":[{"kty":"RSA","kid":"...","use":"sig","alg":"RS256","n":"...","e":"AQAB"}]}');
          }
        },
      },
      {
        id: 'bearer-auth',
        title: 'GET /me accepts a valid Bearer token and answers 401 + WWW-Authenticate: Bearer otherwise',
        hint: 'Read `Authorization: Bearer <token>`, verify it, answer {"sub","roles"} from its claims; without a valid token answer 401 with `WWW-Authenticate: Bearer`.',
        async run(ctx) {
          const s = await setup(ctx);
          const { body } = await login(ctx, s.member);
          const mine = await expectAccepted(ctx, body.access_token, 'the access token from POST /login');
          const who = expectJson(mine, 200);
          expectEqual({ sub: who?.sub, roles: Array.isArray(who?.roles) ? [...who.roles].sort() : who?.roles }, { sub: s.member.username, roles: [...s.member.roles].sort() }, 'GET /me must answer {"sub", "roles"} from the token.', mine);

          // Stateless: any token signed with the key and carrying valid claims is trusted, also one the server never issued.
          const sub = `${ctx.random.word()}-${ctx.random.string(5)}`;
          const roles = [ctx.random.pick(['reader', 'editor', 'auditor']), 'user'];
          const res = await expectAccepted(ctx, await mint(s, claimsFor(s, sub, roles)), `a token for "${sub}" signed with JWT_PRIVATE_KEY`);
          const other = expectJson(res, 200);
          expectEqual({ sub: other?.sub, roles: Array.isArray(other?.roles) ? [...other.roles].sort() : other?.roles }, { sub, roles: [...roles].sort() }, 'GET /me must answer the "sub" and "roles" claims of the token it was sent (tokens are self-contained: no lookup, no session).', res);

          expectBearerChallenge(await ctx.http.get('/me'), 'GET /me without an Authorization header must be refused with 401.');
          expectBearerChallenge(await ctx.http.get('/me', { headers: { Authorization: `Bearer ${ctx.random.string(40)}` } }), 'GET /me with a Bearer value that is not a JWT must be refused with 401.');
          const basic = Buffer.from(`${s.member.username}:${s.member.password}`).toString('base64');
          expectBearerChallenge(await ctx.http.get('/me', { headers: { Authorization: `Basic ${basic}` } }), 'GET /me with Basic credentials instead of a Bearer token must be refused with 401.');
        },
      },
      {
        id: 'alg-none',
        title: 'Unsigned tokens ("alg": "none" in any spelling) are rejected',
        hint: 'Never let the token choose the algorithm: accept only "alg": "RS256" (exact string) and always check the signature.',
        async run(ctx) {
          const s = await setup(ctx);
          const claims = claimsFor(s, s.admin.username, ['admin', 'user']);
          await expectAccepted(ctx, await mint(s, claims), 'a valid RS256 token');
          const signed = await mint(s, claims);
          const signature = signed.split('.')[2];
          await expectRejected(ctx, new s.jose.UnsecuredJWT(claims).encode(), 'an unsigned token (header {"alg":"none"}, empty signature)');
          for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
            await expectRejected(ctx, assemble(s, { alg, typ: 'JWT', kid: s.kid }, claims), `an unsigned token (header {"alg":"${alg}","kid":"${s.kid}"}, empty signature)`);
          }
          await expectRejected(ctx, assemble(s, { alg: 'none', typ: 'JWT', kid: s.kid }, claims, signature), 'a token whose header says "alg":"none" but still carries an RS256 signature');
        },
      },
      {
        id: 'tampered-token',
        title: 'A changed claim under the old signature, or a signature from another key, is rejected',
        hint: 'Verify the RS256 signature over the exact base64url header.payload bytes with the public key, before trusting any claim.',
        async run(ctx) {
          const s = await setup(ctx);
          const { body } = await login(ctx, s.member);
          const token: string = body.access_token;
          await expectAccepted(ctx, token, 'the access token from POST /login');
          const [h, , sig] = token.split('.');
          let payload: Record<string, unknown>;
          try {
            payload = s.jose.decodeJwt(token) as Record<string, unknown>;
          } catch {
            throw new CheckFailure({ message: 'The access token from POST /login is not a decodable JWT.', received: token.slice(0, 120) });
          }
          const enc = (o: object) => s.jose.base64url.encode(JSON.stringify(o));
          await expectRejected(ctx, `${h}.${enc({ ...payload, roles: ['admin', 'user'] })}.${sig}`, 'your own token with "roles" changed to ["admin","user"] (old signature kept)');
          await expectRejected(ctx, `${h}.${enc({ ...payload, sub: s.admin.username })}.${sig}`, `your own token with "sub" changed to "${s.admin.username}" (old signature kept)`);
          await expectRejected(ctx, `${h}.${enc({ ...payload, exp: now() + 30 * 24 * HOUR })}.${sig}`, 'your own token with "exp" pushed 30 days ahead (old signature kept)');
          await expectRejected(ctx, `${h}.${token.split('.')[1]}.`, 'your own token with its signature removed');
          const attacker = await s.jose.generateKeyPair('RS256');
          await expectRejected(ctx, await mint(s, claimsFor(s, s.admin.username, ['admin']), { key: attacker.privateKey }), `a token signed by another RSA key that claims "kid": "${s.kid}"`);
        },
      },
      {
        id: 'expiry',
        title: 'Expired, not-yet-valid and exp-less tokens are rejected',
        hint: 'Require "exp" and reject it when it is in the past; reject "nbf" in the future (a leeway of up to 60 s is fine; the grader stays an hour away).',
        async run(ctx) {
          const s = await setup(ctx);
          const base = claimsFor(s, s.member.username, s.member.roles);
          const t = now();
          await expectAccepted(ctx, await mint(s, base, { claims: { nbf: t - HOUR, iat: t - HOUR } }), 'a token with "nbf" an hour ago and "exp" an hour ahead');
          await expectRejected(ctx, await mint(s, base, { claims: { iat: t - 2 * HOUR, exp: t - HOUR } }), 'a token that expired an hour ago ("exp" in the past)');
          await expectRejected(ctx, await mint(s, base, { claims: { iat: t, nbf: t + HOUR, exp: t + 2 * HOUR } }), 'a token that is not valid for another hour ("nbf" in the future)');
          await expectRejected(ctx, await mint(s, base, { omit: ['exp'] }), 'a token without an "exp" claim (it would never expire)');
        },
      },
      {
        id: 'issuer-audience',
        title: 'Wrong or missing iss/aud are rejected; an aud array containing the audience is accepted',
        hint: 'Require "iss" === JWT_ISSUER exactly, and "aud" equal to JWT_AUDIENCE or an array that contains it.',
        async run(ctx) {
          const s = await setup(ctx);
          const base = claimsFor(s, s.member.username, s.member.roles);
          const other = `api-${ctx.random.word()}-other`;
          await expectAccepted(ctx, await mint(s, base, { claims: { aud: [other, s.audience] } }), `a token whose "aud" is an array that contains JWT_AUDIENCE (["${other}","${s.audience}"])`);
          await expectRejected(ctx, await mint(s, base, { claims: { iss: `https://evil-${ctx.random.word()}.example` } }), 'a token from another issuer ("iss" is not JWT_ISSUER)');
          await expectRejected(ctx, await mint(s, base, { claims: { iss: `${s.issuer}.evil.test` } }), `a token whose "iss" only starts with JWT_ISSUER ("${s.issuer}.evil.test")`);
          await expectRejected(ctx, await mint(s, base, { omit: ['iss'] }), 'a token without "iss"');
          await expectRejected(ctx, await mint(s, base, { claims: { aud: other } }), `a token for another audience ("aud": "${other}")`);
          await expectRejected(ctx, await mint(s, base, { claims: { aud: [other, `${s.audience}-admin`] } }), 'a token whose "aud" array does not contain JWT_AUDIENCE');
          await expectRejected(ctx, await mint(s, base, { omit: ['aud'] }), 'a token without "aud"');
        },
      },
      {
        id: 'unknown-kid',
        title: 'Tokens naming an unknown kid, or carrying their own key (jwk, jku), are rejected',
        hint: 'Pick the verification key yourself: only JWT_KID is known; ignore the token\'s `jwk`, `jku`, `x5u`, `x5c` headers entirely.',
        async run(ctx) {
          const s = await setup(ctx);
          const base = claimsFor(s, s.admin.username, ['admin', 'user']);
          await expectAccepted(ctx, await mint(s, base), 'a valid RS256 token');
          const attacker = await s.jose.generateKeyPair('RS256');
          const attackerJwk = { ...(await s.jose.exportJWK(attacker.publicKey)), kid: `att-${ctx.random.string(8)}`, alg: 'RS256', use: 'sig' };
          await expectRejected(ctx, await mint(s, base, { key: attacker.privateKey, header: { kid: attackerJwk.kid } }), `a token signed by an unknown key (kid "${attackerJwk.kid}")`);
          const unknownKid = `${s.kid}-old-${ctx.random.string(4)}`;
          await expectRejected(ctx, await mint(s, base, { header: { kid: unknownKid } }), `a token whose header names a kid your server does not know ("${unknownKid}")`);
          await expectRejected(ctx, await mint(s, base, { key: attacker.privateKey, header: { jwk: { kty: attackerJwk.kty, n: attackerJwk.n, e: attackerJwk.e } } }), 'a token signed by the attacker\'s key and carrying that public key in its own `jwk` header');
          const jwks = await ctx.host.http((_req, res) => {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ keys: [{ ...attackerJwk, kid: s.kid }] }));
          });
          const res = await me(ctx, await mint(s, base, { key: attacker.privateKey, header: { jku: `${jwks.url}/jwks.json` } }));
          res.expectStatus(
            401,
            `GET /me with a token whose \`jku\` header points to the attacker's own key set must be refused with 401${jwks.requests.length > 0 ? ' (your server even downloaded that key set)' : ''}.`,
          );
        },
      },
      {
        id: 'alg-confusion',
        title: 'HS256 tokens signed with the public key (RS/HS confusion) are rejected',
        hint: 'The key decides the algorithm: an RSA public key only ever verifies RS256. Never feed it to HMAC because the header says HS256.',
        async run(ctx) {
          const s = await setup(ctx);
          const base = claimsFor(s, s.admin.username, ['admin', 'user']);
          await expectAccepted(ctx, await mint(s, base), 'a valid RS256 token');
          const pkcs1 = createPublicKey(ctx.env.JWT_PRIVATE_KEY).export({ type: 'pkcs1', format: 'pem' }) as string;
          const secrets: [string, string][] = [
            ['the public key in PEM (SPKI)', s.publicPem],
            ['the public key in PEM (SPKI, no final newline)', s.publicPem.trim()],
            ['the public key in PEM (PKCS#1)', pkcs1],
            ['the public key in PEM (PKCS#1, no final newline)', pkcs1.trim()],
            ['the public JWK as JSON', JSON.stringify({ ...s.publicJwk, kid: s.kid })],
          ];
          for (const [what, secret] of secrets) {
            const token = await mint(s, base, { alg: 'HS256', key: new TextEncoder().encode(secret) });
            await expectRejected(ctx, token, `a token with "alg":"HS256" whose HMAC key is ${what} (anyone can read the public key from your JWKS)`);
          }
        },
      },
      {
        id: 'roles',
        title: 'GET /admin/users: 403 for a valid token without the admin role, 200 with it',
        hint: '401 = not authenticated (no or bad token); 403 = authenticated but not allowed. Check that the "roles" array contains exactly "admin".',
        async run(ctx) {
          const s = await setup(ctx);
          const member = (await login(ctx, s.member)).body.access_token as string;
          const denied = await ctx.http.get('/admin/users', { headers: bearer(member) });
          denied.expectStatus(403, `GET /admin/users with ${s.member.username}'s valid token (roles ${JSON.stringify(s.member.roles)}) must be 403 Forbidden: the user is authenticated (so not 401) but lacks the "admin" role.`);

          const admin = (await login(ctx, s.admin)).body.access_token as string;
          const ok = await ctx.http.get('/admin/users', { headers: bearer(admin) });
          const list = expectJson(ok, 200, `GET /admin/users with ${s.admin.username}'s token (roles ${JSON.stringify(s.admin.roles)}) must answer 200.`);
          const names = s.users.map((u) => u.username).sort();
          expectEqual(Array.isArray(list?.users) ? [...list.users].sort() : list?.users, names, 'GET /admin/users must answer {"users": [...]} with every username from USERS.', ok);

          const sub = `${ctx.random.word()}-${ctx.random.string(4)}`;
          const minted = await ctx.http.get('/admin/users', { headers: bearer(await mint(s, claimsFor(s, sub, ['admin']))) });
          minted.expectStatus(200, `GET /admin/users with a valid token for "${sub}" with "roles": ["admin"] must answer 200: the role comes from the token.`);
          const lookalike = ['readonly', 'admins', 'superadmin'];
          const near = await ctx.http.get('/admin/users', { headers: bearer(await mint(s, claimsFor(s, sub, lookalike))) });
          near.expectStatus(403, `GET /admin/users with "roles": ${JSON.stringify(lookalike)} must be 403: none of these is exactly "admin".`);
          const anonymous = await ctx.http.get('/admin/users');
          anonymous.expectStatus(401, 'GET /admin/users without a token must be 401 (not authenticated), not 403.');
        },
      },
      {
        id: 'refresh-rotation',
        title: 'POST /refresh rotates the refresh token: the old one stops working',
        hint: 'Store refresh tokens server side; on use, mark the old one used and issue a new pair. A used, unknown or revoked refresh token is 401, and a refresh token is never accepted as an access token.',
        async run(ctx) {
          const s = await setup(ctx);
          const first = (await login(ctx, s.member)).body;
          const r1: string = first.refresh_token;
          const refresh = (token: string) => ctx.http.post('/refresh', { refresh_token: token });

          const res2 = await refresh(r1);
          const second = expectJson(res2, 200, 'POST /refresh with the refresh token from login must answer 200 with a new token pair.');
          expectThat(second && typeof second.access_token === 'string' && typeof second.refresh_token === 'string', 'POST /refresh must answer {"access_token", "token_type", "expires_in", "refresh_token"} like /login.', { res: res2 });
          expectThat(second.refresh_token !== r1, 'POST /refresh must rotate: answer a new refresh token, different from the one it was sent.', {
            expected: 'a new "refresh_token"',
            received: `the same "refresh_token" back`,
            res: res2,
          });
          await expectIssuedToken(s, second.access_token, s.member, res2, 'POST /refresh');
          await expectAccepted(ctx, second.access_token, 'the access token from POST /refresh');

          const res3 = await refresh(second.refresh_token);
          const third = expectJson(res3, 200, 'POST /refresh with the refresh token from the previous refresh must answer 200.');
          expectThat(typeof third?.refresh_token === 'string' && third.refresh_token !== second.refresh_token, 'Every POST /refresh must answer a new "refresh_token".', { res: res3 });

          const replay1 = await refresh(r1);
          replay1.expectStatus(401, 'POST /refresh with the refresh token from login, already used once, must be refused with 401: a stolen refresh token must not outlive its first use.');
          const replay2 = await refresh(second.refresh_token);
          replay2.expectStatus(401, 'POST /refresh with a refresh token that was already used must be refused with 401.');
          const forged = await refresh(ctx.random.string(43));
          forged.expectStatus(401, 'POST /refresh with an unknown refresh token must be refused with 401.');
          await expectRejected(ctx, third.refresh_token, 'a refresh token in place of an access token');
        },
      },
    ],
  },
  import.meta.dirname,
);
