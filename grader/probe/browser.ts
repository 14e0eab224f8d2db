// A "browser" for checks that walk through redirects (logins, OAuth authorization, return_to pages): it sends
// each request through the HTTP probe (so every hop is an exchange with its curl reproduction), keeps the
// cookies the server sets (the plain `Cookies` store: no Secure/Domain/Path rules, so nothing the server
// sent is hidden), and follows redirects one hop at a time, recording each (method, URL, status, Location,
// cookies sent and set). It never leaves the server's origin: a redirect elsewhere (an OAuth client's
// redirect_uri, an attacker's site) is recorded and returned, not fetched, so a check can assert on it.
import { CheckFailure } from '../errors.ts';
import { Cookies, setCookies } from './cookies.ts';
import type { HttpProbe, HttpResponse, RequestOptions } from './http.ts';

export interface BrowserHop {
  method: string;
  url: string;
  status?: number;
  /** The Location header as sent (may be relative). */
  location?: string;
  /** Location resolved against the request URL. */
  resolved?: string;
  /** Names of the cookies sent with the request. */
  cookiesSent: string[];
  /** Set-Cookie lines of the response, as received. */
  cookiesSet: string[];
  /** A transport failure instead of a response. */
  error?: string;
}

export interface Navigation {
  /** Every hop of this navigation, in order (also appended to `browser.hops`). */
  hops: BrowserHop[];
  /** The last response received (a non-redirect page, or the redirect that left the origin). */
  response: HttpResponse;
  /** Set when the last response redirected off the server's origin: the URL the browser was sent to, not fetched. */
  leftTo?: URL;
  /** The URL of the last page fetched. */
  url: string;
}

export interface NavigateOptions {
  method?: string;
  /** Sent as application/x-www-form-urlencoded (pairs keep order and allow a name twice). */
  form?: Record<string, string> | [string, string][];
  headers?: Record<string, string>;
  /** Redirects followed at most (default 10). */
  maxRedirects?: number;
  /** Do not follow any redirect: stop at the first response. */
  follow?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** application/x-www-form-urlencoded body from pairs or a record (space as `+`, as browsers send it). */
export function formEncode(form: Record<string, string> | [string, string][]): string {
  return new URLSearchParams(Array.isArray(form) ? form : Object.entries(form)).toString();
}

export class Browser {
  readonly cookies: Cookies;
  readonly hops: BrowserHop[] = [];

  constructor(
    private readonly http: HttpProbe,
    cookies?: Cookies,
  ) {
    this.cookies = cookies ?? new Cookies();
  }

  /** The server's origin (http://127.0.0.1:PORT). */
  get origin(): string {
    return new URL(this.http.baseUrl).origin;
  }

  /**
   * Requests `path` (relative to the server, or absolute on its origin) and follows redirects on the same
   * origin: 303 (and 301/302 after a POST) continue as GET without a body; 307/308 repeat the method and body.
   */
  async navigate(path: string, options: NavigateOptions = {}): Promise<Navigation> {
    const max = options.follow === false ? 0 : options.maxRedirects ?? 10;
    let url = this.http.url(path);
    let method = (options.method ?? (options.form ? 'POST' : 'GET')).toUpperCase();
    let body = options.form ? formEncode(options.form) : undefined;
    const hops: BrowserHop[] = [];
    for (let n = 0; ; n++) {
      const headers: Record<string, string> = { ...this.cookies.headers(), ...(options.headers ?? {}) };
      if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      const hop: BrowserHop = { method, url, cookiesSent: this.cookies.names(), cookiesSet: [] };
      hops.push(hop);
      this.hops.push(hop);
      let res: HttpResponse;
      try {
        res = await this.http.request(url, { method, headers, body } satisfies RequestOptions);
      } catch (err) {
        if (err instanceof CheckFailure) {
          hop.error = err.details.message;
          throw new CheckFailure({ ...err.details, transcript: this.transcript(), transcriptTitle: 'Browser hops' });
        }
        throw err;
      }
      hop.status = res.status;
      hop.cookiesSet = setCookies(res).map((c) => c.raw);
      this.cookies.store(res);
      const location = res.header('location');
      if (location !== undefined) {
        hop.location = location;
        try {
          hop.resolved = new URL(location, url).href;
        } catch {
          hop.resolved = undefined;
        }
      }
      if (!REDIRECTS.has(res.status) || location === undefined || hop.resolved === undefined) return { hops, response: res, url };
      const next = new URL(hop.resolved);
      if (next.origin !== this.origin) return { hops, response: res, url, leftTo: next };
      if (n >= max) return { hops, response: res, url };
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next.href;
    }
  }

  /** The hops so far as text, one per line, for a failure's transcript. */
  transcript(hops: BrowserHop[] = this.hops): string {
    return hops.map((h, i) => describeHop(h, i + 1)).join('\n');
  }

  /** Fails the check with the browser's hops as the transcript. */
  fail(details: { message: string; expected?: string; received?: string; res?: HttpResponse; hint?: string }): never {
    throw new CheckFailure({
      message: details.message,
      expected: details.expected,
      received: details.received,
      exchange: details.res?.exchange,
      hint: details.hint,
      transcript: this.transcript(),
      transcriptTitle: 'Browser hops (method URL -> status, Location, cookies)',
    });
  }
}

export function describeHop(h: BrowserHop, n: number): string {
  const u = new URL(h.url);
  const parts = [`${n}. ${h.method} ${u.pathname}${u.search}`];
  if (h.cookiesSent.length) parts.push(`   Cookie: ${h.cookiesSent.join(', ')}`);
  if (h.error) parts.push(`   -> ${h.error}`);
  else parts.push(`   -> ${h.status}${h.location !== undefined ? ` Location: ${h.location}` : ''}`);
  for (const c of h.cookiesSet) parts.push(`   Set-Cookie: ${c.length > 160 ? `${c.slice(0, 157)}...` : c}`);
  return parts.join('\n');
}
