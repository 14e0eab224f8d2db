// Cookies for checks, without a browser jar. A jar applies browser rules (it drops `Secure` cookies over
// plain http, scopes by Domain/Path), which would hide what the learner's server actually sent. Here every
// Set-Cookie line is parsed as sent (RFC 6265bis: attribute names case-insensitive) so a check can judge
// its attributes, and `Cookies` is a plain name -> value store that sends back whatever the server set.
import { createRequire } from 'node:module';
import { CheckFailure } from '../errors.ts';
import { describeResponse } from './exchange.ts';
import type { HttpResponse } from './http.ts';

export interface SetCookie {
  name: string;
  value: string;
  expires?: Date;
  /** Seconds; zero or negative means "delete now". */
  maxAge?: number;
  domain?: string;
  path?: string;
  secure: boolean;
  httpOnly: boolean;
  /** Normalised to Strict | Lax | None when the attribute has one of those values (any case). */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** The raw value of the last SameSite attribute, also when it is not a known one (e.g. `SameSite=yes`). */
  sameSiteRaw?: string;
  /** The Set-Cookie line as received. */
  raw: string;
}

type UndiciCookie = {
  name: string;
  value: string;
  expires?: Date | number;
  maxAge?: number;
  domain?: string;
  path?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
};

// undici's RFC 6265bis parser (already a dependency), required lazily: loading a lab stays cheap, and by
// the time a check parses cookies the HTTP probe has loaded undici anyway.
let parser: ((line: string) => UndiciCookie | null) | undefined;
function undiciParse(line: string): UndiciCookie | null {
  parser ??= (createRequire(import.meta.url)('undici') as { parseCookie: (line: string) => UndiciCookie | null }).parseCookie;
  return parser(line);
}

/** Parses one Set-Cookie line; undefined when a user agent would ignore it (control characters, no name and value). */
export function parseSetCookie(line: string): SetCookie | undefined {
  const c = undiciParse(line);
  if (!c || (c.name === '' && c.value === '')) return undefined;
  const attributes = line.split(';').slice(1).map((av) => {
    const eq = av.indexOf('=');
    return { name: (eq < 0 ? av : av.slice(0, eq)).trim().toLowerCase(), value: eq < 0 ? '' : av.slice(eq + 1).trim() };
  });
  const sameSiteRaw = attributes.filter((a) => a.name === 'samesite').pop()?.value;
  let maxAge = c.maxAge;
  // RFC 6265bis: a Max-Age of "-1" is valid and means "expire now" (undici skips negative values).
  const negative = attributes.filter((a) => a.name === 'max-age').pop()?.value;
  if (negative !== undefined && /^-\d+$/.test(negative)) maxAge = Number(negative);
  const expires = c.expires === undefined ? undefined : new Date(c.expires);
  return {
    name: c.name,
    value: c.value,
    expires: expires && !Number.isNaN(expires.getTime()) ? expires : undefined,
    maxAge,
    domain: c.domain,
    path: c.path,
    secure: c.secure === true,
    httpOnly: c.httpOnly === true,
    sameSite: c.sameSite,
    sameSiteRaw,
    raw: line,
  };
}

/** Every cookie the response sets, in order. */
export function setCookies(res: HttpResponse): SetCookie[] {
  return res.headerAll('set-cookie').flatMap((line) => {
    const c = parseSetCookie(line);
    return c ? [c] : [];
  });
}

/** The last cookie named `name` that the response sets, if any. */
export function findSetCookie(res: HttpResponse, name: string): SetCookie | undefined {
  return setCookies(res).filter((c) => c.name === name).pop();
}

/** True when the Set-Cookie deletes the cookie (Max-Age <= 0, or Expires in the past). */
export function isCookieRemoval(cookie: SetCookie, now = Date.now()): boolean {
  if (cookie.maxAge !== undefined) return cookie.maxAge <= 0;
  return cookie.expires !== undefined && cookie.expires.getTime() <= now;
}

/** Fails the check unless the response sets cookie `name` (and does not delete it). Returns it. */
export function expectSetCookie(res: HttpResponse, name: string, why?: string): SetCookie {
  const cookie = findSetCookie(res, name);
  if (!cookie || isCookieRemoval(cookie)) {
    throw new CheckFailure({
      message: why ?? `The response must set the cookie \`${name}\` with a \`Set-Cookie: ${name}=...\` header.`,
      expected: `Set-Cookie: ${name}=<value>; ...`,
      received: describeResponse(res.exchange.response!, ['set-cookie']),
      exchange: res.exchange,
    });
  }
  return cookie;
}

/**
 * A tiny cookie store for a client the grader plays (a victim, an attacker). It keeps name -> value from
 * every Set-Cookie it is given, whatever the attributes (Secure, Domain, Path are not applied), forgets a
 * cookie the server deletes, and renders the `Cookie` request header.
 */
export class Cookies {
  private readonly values = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(initial)) this.values.set(k, v);
  }

  /** Applies the response's Set-Cookie lines. */
  store(res: HttpResponse): this {
    for (const c of setCookies(res)) {
      if (isCookieRemoval(c)) this.values.delete(c.name);
      else this.values.set(c.name, c.value);
    }
    return this;
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  set(name: string, value: string): this {
    this.values.set(name, value);
    return this;
  }

  delete(name: string): this {
    this.values.delete(name);
    return this;
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  get size(): number {
    return this.values.size;
  }

  /** The `Cookie` header value, e.g. `sid=abc; theme=dark` (empty when there are no cookies). */
  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Request headers with `Cookie` (omitted when empty) merged with `extra`. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    const cookie = this.header();
    return cookie ? { Cookie: cookie, ...extra } : { ...extra };
  }

  clone(): Cookies {
    return new Cookies(Object.fromEntries(this.values));
  }
}
