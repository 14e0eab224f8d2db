// An OAuth 2.0 client for checks: PKCE (RFC 7636) pairs, including the malformed verifiers a server must
// refuse; the authorization response read from a redirect's Location; token endpoint requests with every
// client authentication method (and duplicated parameters when a check wants them); the RFC 6749 5.2 error
// format judged; and a fetch over the HTTP probe so a certified client library (oauth4webapi) sends its
// requests through the same recorder, with curl reproductions, as the grader's own client.
import { createHash } from 'node:crypto';
import { CheckFailure } from '../errors.ts';
import { describeResponse } from './exchange.ts';
import { formEncode } from './browser.ts';
import type { HttpProbe, HttpResponse } from './http.ts';
import type { Random } from '../random.ts';

/** RFC 7636 4.1: the characters a code_verifier may use. */
export const PKCE_UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';

/** A code_verifier of `length` characters (RFC 7636 allows 43 to 128; give 42 or 129 for a hostile one). */
export function pkceVerifier(random: Random, length = 64, alphabet = PKCE_UNRESERVED): string {
  return random.string(length, alphabet);
}

/** The S256 code_challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))), no padding. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** True when a verifier has a length and characters RFC 7636 allows. */
export function isValidVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(verifier);
}

export interface PkcePair {
  verifier: string;
  challenge: string;
  method: 'S256';
}

/** A verifier and its S256 challenge. `length` outside 43..128 makes a pair a server must refuse at the token endpoint. */
export function pkcePair(random: Random, length = 64, alphabet = PKCE_UNRESERVED): PkcePair {
  const verifier = pkceVerifier(random, length, alphabet);
  return { verifier, challenge: s256(verifier), method: 'S256' };
}

export interface AuthorizationResponse {
  url: URL;
  /** Scheme, host, port and path equal the registered redirect URI's, and its own query parameters are kept. */
  matchesRedirectUri: boolean;
  params: URLSearchParams;
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
  iss?: string;
  /** Parameter names that appear more than once in the response. */
  repeated: string[];
  /** Parameters placed in the fragment instead of the query (wrong for response_type=code). */
  fragment: URLSearchParams;
}

/** Reads an authorization response (RFC 6749 4.1.2) from the URL a redirect sends the user agent to. */
export function readAuthorizationResponse(location: URL | string, redirectUri: string): AuthorizationResponse {
  const url = typeof location === 'string' ? new URL(location) : location;
  const registered = new URL(redirectUri);
  const params = url.searchParams;
  const ownKept = [...registered.searchParams].every(([k, v]) => params.getAll(k).includes(v));
  const matchesRedirectUri = url.protocol === registered.protocol && url.host === registered.host && url.pathname === registered.pathname && ownKept;
  const names = [...params.keys()];
  const repeated = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  const one = (name: string) => params.get(name) ?? undefined;
  return {
    url,
    matchesRedirectUri,
    params,
    code: one('code'),
    state: one('state'),
    error: one('error'),
    errorDescription: one('error_description'),
    iss: one('iss'),
    repeated,
    fragment: new URLSearchParams(url.hash.replace(/^#/, '')),
  };
}

/** An authorization request URL: pairs keep their order and may repeat a name (hostile requests). */
export function authorizationUrl(endpoint: string, params: Record<string, string> | [string, string][]): string {
  const url = new URL(endpoint);
  url.search = formEncode(params);
  return url.href;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface ClientCredentials {
  clientId: string;
  clientSecret?: string;
}

/** RFC 6749 2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

export interface TokenRequestOptions {
  /** How the client authenticates (default: basic when there is a secret, else none: client_id in the body). */
  auth?: ClientAuthMethod;
  headers?: Record<string, string>;
}

/**
 * POST to the token endpoint, form-encoded. `params` as pairs may repeat a name. The client authenticates
 * with `auth`: Basic header, client_id + client_secret in the body, or client_id alone (a public client).
 */
export function tokenRequest(http: HttpProbe, endpoint: string, params: Record<string, string> | [string, string][], client: ClientCredentials, options: TokenRequestOptions = {}): Promise<HttpResponse> {
  const auth = options.auth ?? (client.clientSecret !== undefined ? 'client_secret_basic' : 'none');
  const pairs: [string, string][] = Array.isArray(params) ? [...params] : Object.entries(params);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...(options.headers ?? {}) };
  if (auth === 'client_secret_basic') headers.Authorization = basicCredentials(client.clientId, client.clientSecret ?? '');
  else if (auth === 'client_secret_post') pairs.push(['client_id', client.clientId], ['client_secret', client.clientSecret ?? '']);
  else pairs.push(['client_id', client.clientId]);
  return http.request(endpoint, { method: 'POST', headers, body: formEncode(pairs) });
}

/** RFC 6749 5.2 error codes of the token endpoint. */
export const TOKEN_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'] as const;

function jsonBody(res: HttpResponse): any {
  try {
    return JSON.parse(res.text);
  } catch {
    return undefined;
  }
}

function isJson(res: HttpResponse): boolean {
  const type = (res.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(type);
}

/** True when Cache-Control carries the no-store directive. */
export function hasNoStore(res: HttpResponse): boolean {
  return (res.header('cache-control') ?? '').split(',').some((d) => d.trim().toLowerCase() === 'no-store');
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  [k: string]: unknown;
}

/**
 * Fails unless `res` is a successful token response (RFC 6749 5.1): 200, JSON, `access_token`, `token_type`
 * Bearer (any case), `expires_in` a positive number when present, and (unless `noStore: false`)
 * `Cache-Control: no-store`. `refresh` requires a refresh_token.
 */
export function expectTokenResponse(res: HttpResponse, options: { why: string; noStore?: boolean; refresh?: boolean }): TokenResponse {
  const shape = '{"access_token":"...","token_type":"Bearer","expires_in":<seconds>,"refresh_token":"..."}';
  const fail = (message: string, expected: string): never => {
    throw new CheckFailure({ message, expected, received: describeResponse(res.exchange.response!, ['content-type', 'cache-control']), exchange: res.exchange });
  };
  if (res.status !== 200) fail(`${options.why} Your server answered ${res.status} instead of 200.`, `HTTP 200 ${shape}`);
  const body = jsonBody(res);
  if (!isJson(res) || body === undefined || body === null || typeof body !== 'object') fail(`${options.why} The token response must be a JSON object with \`Content-Type: application/json\`.`, `Content-Type: application/json\n\n${shape}`);
  if (typeof body.access_token !== 'string' || body.access_token === '') fail(`${options.why} The token response has no \`access_token\` string.`, shape);
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') fail(`${options.why} The token response must say \`"token_type": "Bearer"\`.`, '"token_type": "Bearer"');
  if (body.expires_in !== undefined && !(typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0)) fail(`${options.why} \`expires_in\` must be a positive JSON number of seconds (not a string).`, '"expires_in": 3600');
  if (options.refresh && (typeof body.refresh_token !== 'string' || body.refresh_token === '')) fail(`${options.why} The token response must carry a \`refresh_token\`.`, shape);
  if (options.noStore !== false && !hasNoStore(res)) {
    fail(`${options.why} A response carrying tokens must not be stored by any cache: send \`Cache-Control: no-store\` (RFC 6749 5.1).`, 'Cache-Control: no-store');
  }
  return body as TokenResponse;
}

/**
 * Fails unless `res` is an OAuth error response (RFC 6749 5.2): a status in `status` (default 400, or
 * 400/401 when invalid_client is allowed), JSON, `"error"` one of `errors`, `error_description` a string when
 * present. Returns the body.
 */
export function expectOAuthError(res: HttpResponse, options: { errors: string[]; why: string; status?: number[]; noStore?: boolean }): { error: string; error_description?: string } {
  const status = options.status ?? (options.errors.includes('invalid_client') ? [400, 401] : [400]);
  const want = `HTTP ${status.join(' or ')}, Content-Type: application/json, {"error":"${options.errors.join('" or "')}"}`;
  const fail = (message: string): never => {
    throw new CheckFailure({ message: `${options.why} ${message}`, expected: want, received: describeResponse(res.exchange.response!, ['content-type', 'cache-control', 'www-authenticate']), exchange: res.exchange });
  };
  if (res.status < 300 && /access_token/.test(res.text)) fail('Your server issued tokens: it accepted a request it must refuse.');
  if (res.status >= 500) fail(`Your server answered ${res.status}: a bad request from a client is the client's error, answered with 400 and an OAuth error code, never a server error.`);
  if (!status.includes(res.status)) fail(`Your server answered ${res.status}.`);
  const body = jsonBody(res);
  if (!isJson(res) || !body || typeof body !== 'object') fail('The error must be a JSON object with `Content-Type: application/json` (RFC 6749 5.2), not HTML or text.');
  if (typeof body.error !== 'string') fail('The error body has no `"error"` string.');
  if (!options.errors.includes(body.error)) fail(`The error code is "${body.error}".`);
  if (body.error_description !== undefined && typeof body.error_description !== 'string') fail('`error_description` must be a string.');
  if (options.noStore && !hasNoStore(res)) fail('The token endpoint must send `Cache-Control: no-store` on every response, errors included.');
  return body;
}

/**
 * A `fetch` that sends through the HTTP probe (each request recorded like the checks' own, with its curl
 * reproduction), for a client library that accepts a custom fetch (oauth4webapi's `customFetch`). Redirects
 * are never followed.
 */
export interface ProbeFetchInit {
  method?: string;
  headers?: HeadersInit;
  body?: unknown;
  redirect?: string;
  signal?: AbortSignal | null;
}

export function probeFetch(http: HttpProbe): (url: string | URL, init?: ProbeFetchInit) => Promise<Response> {
  return async (url, init = {}) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    let body: string | Buffer | undefined;
    if (typeof init.body === 'string') body = init.body;
    else if (init.body instanceof URLSearchParams) {
      body = init.body.toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    } else if (init.body instanceof Uint8Array) body = Buffer.from(init.body);
    else if (init.body !== undefined && init.body !== null) throw new Error(`probeFetch: unsupported body type ${typeof init.body}`);
    const res = await http.request(String(url), { method: init.method ?? 'GET', headers, body });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
    const empty = res.status === 204 || res.status === 304 || (init.method ?? 'GET').toUpperCase() === 'HEAD';
    return new Response(empty ? null : new Uint8Array(res.bytes), { status: res.status, headers: out });
  };
}
