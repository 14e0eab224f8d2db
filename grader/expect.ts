// Assertion helpers for checks. Each failure says what was expected and what came back, with the exchange.
import { isDeepStrictEqual } from 'node:util';
import { CheckFailure } from './errors.ts';
import { describeResponse } from './probe/exchange.ts';
import type { HttpResponse } from './probe/http.ts';

/** The media type without parameters, lowercased: "application/json; charset=utf-8" -> "application/json". */
export function mediaType(value: string | undefined): string {
  return (value ?? '').split(';')[0].trim().toLowerCase();
}

export function isJsonMediaType(value: string | undefined): boolean {
  const t = mediaType(value);
  return t === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(t);
}

/** Status (if given) + a JSON content type + a parseable body. Returns the parsed body. */
export function expectJson<T = any>(res: HttpResponse, status?: number | number[], why?: string): T {
  if (status !== undefined) res.expectStatus(status, why);
  if (!isJsonMediaType(res.header('content-type'))) {
    throw new CheckFailure({
      message: why ?? 'The response must be JSON with `Content-Type: application/json`.',
      expected: 'Content-Type: application/json',
      received: describeResponse(res.exchange.response!, ['content-type']),
      exchange: res.exchange,
    });
  }
  return res.json<T>(why);
}

export function show(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? String(value);
}

/** Deep equality of JSON values; the failure shows both. */
export function expectEqual(actual: unknown, expected: unknown, message: string, res?: HttpResponse): void {
  if (isDeepStrictEqual(actual, expected)) return;
  throw new CheckFailure({ message, expected: show(expected), received: show(actual), exchange: res?.exchange });
}

/** Fails with `message` unless `condition` holds. */
export function expectThat(condition: unknown, message: string, details: { expected?: string; received?: string; res?: HttpResponse } = {}): asserts condition {
  if (condition) return;
  throw new CheckFailure({
    message,
    expected: details.expected,
    received: details.received ?? (details.res ? describeResponse(details.res.exchange.response!) : undefined),
    exchange: details.res?.exchange,
  });
}

/** Splits a comma-separated header list (Allow, Vary...) into upper-cased tokens. */
export function headerTokens(value: string | undefined, upper = true): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => (upper ? t.toUpperCase() : t.toLowerCase()));
}
