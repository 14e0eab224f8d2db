// A recorded HTTP exchange and its reproduction as a curl command.

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Body as sent; binary or large bodies are summarised in `bodyNote`. */
  body?: string;
  bodyBytes: number;
  bodyNote?: string;
  /** A reproduction written by the check (e.g. `curl -F` for a multipart upload), used instead of the generated one. */
  curl?: string;
}

export interface RecordedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** Body decoded as UTF-8, capped. */
  body: string;
  bytes: number;
  truncated: boolean;
}

export interface Exchange {
  request: RecordedRequest;
  response?: RecordedResponse;
  /** Transport-level failure: reset, timeout, invalid HTTP... */
  error?: string;
  durationMs: number;
}

const PREVIEW_CHARS = 2000;

export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\/:=.,@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `curl -i ...` that sends the same request. */
export function toCurl(req: RecordedRequest): string {
  if (req.curl) return req.curl;
  const parts = ['curl', '-i'];
  if (req.method === 'HEAD') parts.push('-I');
  else if (req.method !== 'GET' || req.body !== undefined) parts.push('-X', req.method);
  parts.push(shellQuote(req.url));
  for (const [name, value] of Object.entries(req.headers)) parts.push('-H', shellQuote(`${name}: ${value}`));
  if (req.body !== undefined && req.bodyNote === undefined) parts.push('--data-raw', shellQuote(req.body));
  else if (req.bodyNote !== undefined) parts.push('--data-binary', '@body.bin');
  return parts.join(' ');
}

export function preview(text: string, max = PREVIEW_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length - max} more characters)` : text;
}

/** Human-readable response summary: status line, chosen headers, body preview. */
export function describeResponse(res: RecordedResponse, headerNames?: string[]): string {
  const lines = [`HTTP ${res.status}`];
  const names = headerNames ?? Object.keys(res.headers);
  for (const name of names) {
    const v = res.headers[name.toLowerCase()];
    if (v === undefined) lines.push(`${name}: (absent)`);
    else for (const one of Array.isArray(v) ? v : [v]) lines.push(`${name}: ${one}`);
  }
  if (res.bytes > 0) {
    lines.push('');
    lines.push(preview(res.body, 600) + (res.truncated ? `\n(body cut at ${res.body.length} bytes)` : ''));
  } else lines.push('(empty body)');
  return lines.join('\n');
}

export function describeRequest(req: RecordedRequest): string {
  const u = new URL(req.url);
  const lines = [`${req.method} ${u.pathname}${u.search}`];
  for (const [k, v] of Object.entries(req.headers)) lines.push(`${k}: ${v}`);
  if (req.bodyNote) lines.push('', req.bodyNote);
  else if (req.body !== undefined) lines.push('', preview(req.body, 600));
  return lines.join('\n');
}
