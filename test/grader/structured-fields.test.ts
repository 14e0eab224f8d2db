// Structured-field helpers (RFC 9651) on hand-made responses.
import { describe, expect, it } from 'vitest';
import { CheckFailure } from '../../grader/errors.ts';
import { HttpResponse } from '../../grader/probe/http.ts';
import { expectSfDictionary, expectSfItem, expectSfList, parseSfList, showSfValue } from '../../grader/structured-fields.ts';

function response(headers: Record<string, string | string[]>): HttpResponse {
  return new HttpResponse(
    {
      request: { method: 'GET', url: 'http://127.0.0.1:1/x', headers: {}, bodyBytes: 0 },
      response: { status: 200, headers, body: '', bytes: 0, truncated: false },
      durationMs: 1,
    },
    Buffer.alloc(0),
  );
}

function failure(fn: () => unknown): CheckFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CheckFailure);
    return err as CheckFailure;
  }
  throw new Error('expected a CheckFailure');
}

describe('structured fields', () => {
  it('parses a list of parameterised items, telling Strings from Tokens', () => {
    const list = expectSfList(response({ ratelimit: '"default";r=3;t=2, burst;r=0' }), 'RateLimit');
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ text: 'default', isToken: false, params: { r: 3, t: 2 } });
    expect(list[1]).toMatchObject({ text: 'burst', isToken: true, params: { r: 0 } });
  });

  it('joins repeated header lines as one list (RFC 9651 section 3.1)', () => {
    const list = expectSfList(response({ 'ratelimit-policy': ['"a";q=1', '"b";q=2'] }), 'RateLimit-Policy');
    expect(list.map((m) => m.text)).toEqual(['a', 'b']);
  });

  it('parses inner lists, dictionaries and items', () => {
    expect(parseSfList('("a" "b");x=1')[0].items?.map((i) => i.text)).toEqual(['a', 'b']);
    const dict = expectSfDictionary(response({ 'cache-status': 'hit, fwd=uri-miss' }), 'Cache-Status');
    expect(dict.get('hit')?.value).toBe(true);
    expect(dict.get('fwd')?.text).toBe('uri-miss');
    expect(expectSfItem(response({ priority: '?1;u=3' }), 'Priority').params).toEqual({ u: 3 });
  });

  it('fails with the raw value when the header is absent or malformed', () => {
    const absent = failure(() => expectSfList(response({}), 'RateLimit', undefined, '"default";r=1'));
    expect(absent.details.expected).toBe('RateLimit: "default";r=1');
    expect(absent.details.received).toContain('RateLimit: (absent)');
    const bad = failure(() => expectSfList(response({ ratelimit: 'default; r = 3' }), 'RateLimit'));
    expect(bad.message).toMatch(/not a valid structured-field List/);
    expect(bad.details.received).toContain('RateLimit: default; r = 3');
  });

  it('writes values back in field syntax for messages', () => {
    expect(showSfValue('default')).toBe('"default"');
    expect(showSfValue(2)).toBe('2');
    expect(showSfValue(true)).toBe('?1');
  });
});
