// The browser (cookie jar, redirects hop by hop) and the OAuth client helpers against a small server of
// their own: redirect semantics, off-origin stops, transcripts, PKCE vectors, the RFC 6749 formats.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckFailure } from '../../grader/errors.ts';
import { Browser } from '../../grader/probe/browser.ts';
import { HttpProbe } from '../../grader/probe/http.ts';
import {
  basicCredentials,
  expectOAuthError,
  expectTokenResponse,
  isValidVerifier,
  pkcePair,
  probeFetch,
  readAuthorizationResponse,
  s256,
  tokenRequest,
} from '../../grader/probe/oauth.ts';
import { Random } from '../../grader/random.ts';

let server: Server;
let base: string;
const seen: { method: string; url: string; body: string; cookie?: string; auth?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, cookie: req.headers.cookie, auth: req.headers.authorization });
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/login') {
        res.writeHead(303, { Location: '/back?x=1', 'Set-Cookie': 'sid=abc; HttpOnly; Path=/' });
        return res.end();
      }
      if (url.pathname === '/back') {
        res.writeHead(302, { Location: `https://client.example/cb?code=c1&state=${encodeURIComponent('a b&c')}` });
        return res.end();
      }
      if (url.pathname === '/keep') {
        res.writeHead(307, { Location: '/echo' });
        return res.end();
      }
      if (url.pathname === '/loop') {
        res.writeHead(302, { Location: '/loop' });
        return res.end();
      }
      if (url.pathname === '/token') {
        if (body.includes('bad')) {
          res.writeHead(400, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          return res.end(JSON.stringify({ error: 'invalid_grant' }));
        }
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache, no-store' });
        return res.end(JSON.stringify({ access_token: 'at', token_type: 'bearer', expires_in: 60, refresh_token: 'rt' }));
      }
      if (url.pathname === '/html-error') {
        res.writeHead(400, { 'Content-Type': 'text/html' });
        return res.end('<h1>Bad</h1>');
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${req.method} ${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('Browser', () => {
  it('follows a 303 after a POST as a GET with the cookie it was given, and stops at a redirect off the origin', async () => {
    const http = new HttpProbe({ baseUrl: base });
    const browser = new Browser(http);
    const nav = await browser.navigate('/login', { form: [['u', 'a b'], ['u', 'c']] });
    expect(nav.hops.map((h) => [h.method, new URL(h.url).pathname, h.status])).toEqual([
      ['POST', '/login', 303],
      ['GET', '/back', 302],
    ]);
    expect(seen.find((s) => s.url === '/login')?.body).toBe('u=a+b&u=c');
    expect(seen.find((s) => s.url === '/back?x=1')?.cookie).toBe('sid=abc');
    expect(nav.leftTo?.href).toBe('https://client.example/cb?code=c1&state=a%20b%26c');
    expect(browser.cookies.get('sid')).toBe('abc');
    const text = browser.transcript();
    expect(text).toContain('1. POST /login');
    expect(text).toContain('Set-Cookie: sid=abc; HttpOnly; Path=/');
    expect(text).toContain('2. GET /back?x=1\n   Cookie: sid\n   -> 302 Location: https://client.example/cb');
    const auth = readAuthorizationResponse(nav.leftTo!, 'https://client.example/cb');
    expect(auth).toMatchObject({ code: 'c1', state: 'a b&c', matchesRedirectUri: true, repeated: [] });
    const f = (() => {
      try {
        browser.fail({ message: 'no' });
      } catch (e) {
        return e as CheckFailure;
      }
    })();
    expect(f).toBeInstanceOf(CheckFailure);
    expect(f!.details.transcript).toBe(text);
    await http.close();
  });

  it('repeats method and body on 307, stops after maxRedirects, and does not follow when told not to', async () => {
    const http = new HttpProbe({ baseUrl: base });
    const browser = new Browser(http);
    const kept = await browser.navigate('/keep', { form: { a: '1' } });
    expect(kept.response.text).toBe('POST a=1');
    const loop = await browser.navigate('/loop', { maxRedirects: 3 });
    expect(loop.hops).toHaveLength(4);
    expect(loop.response.status).toBe(302);
    const once = await browser.navigate('/login', { form: { a: '1' }, follow: false });
    expect(once.hops).toHaveLength(1);
    expect(once.leftTo).toBeUndefined();
    await http.close();
  });
});

describe('OAuth helpers', () => {
  it('computes S256 like RFC 7636 appendix B, and makes valid and hostile verifiers', () => {
    expect(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    const r = new Random(7);
    const ok = pkcePair(r);
    expect(ok.verifier).toHaveLength(64);
    expect(ok.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isValidVerifier(ok.verifier)).toBe(true);
    expect(isValidVerifier(pkcePair(r, 42).verifier)).toBe(false);
    expect(isValidVerifier(pkcePair(r, 129).verifier)).toBe(false);
    expect(isValidVerifier(pkcePair(r, 43).verifier)).toBe(true);
    expect(isValidVerifier(pkcePair(r, 128).verifier)).toBe(true);
    expect(isValidVerifier(pkcePair(r, 60, '+/= ').verifier)).toBe(false);
  });

  it('reads authorization responses: registered query kept, repeated names, fragments', () => {
    const reg = 'https://app.example/cb?tenant=t';
    expect(readAuthorizationResponse('https://app.example/cb?tenant=t&code=1&state=s', reg).matchesRedirectUri).toBe(true);
    expect(readAuthorizationResponse('https://app.example/cb?code=1', reg).matchesRedirectUri).toBe(false);
    expect(readAuthorizationResponse('https://app.example/cb/?tenant=t&code=1', reg).matchesRedirectUri).toBe(false);
    const twice = readAuthorizationResponse('https://app.example/cb?tenant=t&state=a&state=b#code=x', reg);
    expect(twice.repeated).toEqual(['state']);
    expect(twice.fragment.get('code')).toBe('x');
  });

  it('encodes Basic credentials per RFC 6749 2.3.1 and judges token and error responses', async () => {
    expect(basicCredentials('a b', 'p:ß')).toBe(`Basic ${Buffer.from('a+b:p%3A%C3%9F').toString('base64')}`);
    const http = new HttpProbe({ baseUrl: base });
    const ok = await tokenRequest(http, '/token', { grant_type: 'x' }, { clientId: 'c', clientSecret: 's' });
    expect(seen.at(-1)?.auth).toBe(basicCredentials('c', 's'));
    expect(expectTokenResponse(ok, { why: 'w', refresh: true }).refresh_token).toBe('rt');
    await tokenRequest(http, '/token', { grant_type: 'x' }, { clientId: 'c', clientSecret: 's' }, { auth: 'client_secret_post' });
    expect(seen.at(-1)?.body).toBe('grant_type=x&client_id=c&client_secret=s');
    const bad = await tokenRequest(http, '/token', [['grant_type', 'bad'], ['grant_type', 'bad']], { clientId: 'pub' });
    expect(seen.at(-1)?.body).toBe('grant_type=bad&grant_type=bad&client_id=pub');
    expect(expectOAuthError(bad, { errors: ['invalid_grant'], why: 'w', noStore: true }).error).toBe('invalid_grant');
    expect(() => expectOAuthError(bad, { errors: ['invalid_client'], why: 'w' })).toThrow(/error code is "invalid_grant"/);
    expect(() => expectTokenResponse(bad, { why: 'w' })).toThrow(/answered 400/);
    const html = await http.get('/html-error');
    expect(() => expectOAuthError(html, { errors: ['invalid_request'], why: 'w' })).toThrow(/JSON object/);
    await http.close();
  });

  it('probeFetch gives a client library a fetch that goes through the probe', async () => {
    const recorded: string[] = [];
    const http = new HttpProbe({ baseUrl: base, onExchange: (e) => recorded.push(`${e.request.method} ${e.request.url}`) });
    const res = await probeFetch(http)(`${base}/echo`, { method: 'POST', body: new URLSearchParams({ a: 'b c' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('POST a=b+c');
    expect(recorded).toEqual([`POST ${base}/echo`]);
    await http.close();
  });
});
