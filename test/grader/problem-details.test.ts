// expectProblem (RFC 9457) and parseHttpDate (RFC 9110) on hand-made responses.
import { describe, expect, it } from 'vitest';
import { CheckFailure } from '../../grader/errors.ts';
import { expectProblem, problemErrors } from '../../grader/problem-details.ts';
import { parseHttpDate } from '../../grader/http-date.ts';
import { HttpResponse } from '../../grader/probe/http.ts';

function response(status: number, contentType: string | undefined, body: string): HttpResponse {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const bytes = Buffer.from(body);
  return new HttpResponse(
    {
      request: { method: 'GET', url: 'http://127.0.0.1:1/x', headers: {}, bodyBytes: 0 },
      response: { status, headers, body, bytes: bytes.length, truncated: false },
      durationMs: 1,
    },
    bytes,
  );
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CheckFailure);
    return (err as CheckFailure).message;
  }
  throw new Error('expected a CheckFailure');
}

describe('expectProblem', () => {
  it('accepts a valid problem and defaults type to about:blank', () => {
    const p = expectProblem(response(404, 'application/problem+json; charset=utf-8', '{"title":"Not Found","status":404,"request_id":"r1"}'), 404);
    expect(p).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, request_id: 'r1' });
  });

  it('keeps a given type and accepts extension members', () => {
    const body = { type: 'https://example.com/probs/out-of-credit', status: 403, instance: '/account/1/msgs/abc', errors: [{ pointer: '#/a' }] };
    expect(expectProblem(response(403, 'application/problem+json', JSON.stringify(body)), [400, 403]).type).toBe(body.type);
  });

  it('fails on the wrong status, content type, schema or status member', () => {
    expect(failure(() => expectProblem(response(500, 'application/problem+json', '{"status":500}'), 404))).toMatch(/404/);
    expect(failure(() => expectProblem(response(404, 'application/json', '{"status":404}'), 404))).toMatch(/application\/problem\+json/);
    expect(failure(() => expectProblem(response(404, 'application/problem+json', '{"status":'), 404))).toMatch(/not valid JSON/);
    expect(failure(() => expectProblem(response(404, 'application/problem+json', '["x"]'), 404))).toMatch(/must be object/);
    expect(failure(() => expectProblem(response(404, 'application/problem+json', '{"status":"404"}'), 404))).toMatch(/`status` must be integer/);
    expect(failure(() => expectProblem(response(404, 'application/problem+json', '{"type":"not a uri","status":404}'), 404))).toMatch(/uri-reference/);
    expect(failure(() => expectProblem(response(404, 'application/problem+json', '{"title":"x"}'), 404))).toMatch(/`status` member/);
    expect(failure(() => expectProblem(response(404, 'application/problem+json', '{"status":400}'), 404))).toMatch(/differs from the HTTP status/);
  });

  it('may leave the status member optional', () => {
    expect(expectProblem(response(409, 'application/problem+json', '{}'), 409, { requireStatus: false }).type).toBe('about:blank');
  });

  it('problemErrors lists violations', () => {
    expect(problemErrors({ status: 99, title: 1 })).toHaveLength(2);
    expect(problemErrors({})).toEqual([]);
  });
});

describe('parseHttpDate', () => {
  const when = new Date(Date.UTC(1994, 10, 6, 8, 49, 37));
  it('accepts the three formats of RFC 9110', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toEqual({ date: when, format: 'IMF-fixdate' });
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', new Date(Date.UTC(2030, 0, 1)))).toEqual({ date: when, format: 'rfc850-date' });
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toEqual({ date: when, format: 'asctime-date' });
  });
  it('rejects other formats and impossible dates', () => {
    for (const v of ['1994-11-06T08:49:37Z', '@784111777', 'Sun, 6 Nov 1994 08:49:37 GMT', 'sun, 06 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT']) {
      expect(parseHttpDate(v), v).toBeUndefined();
    }
  });
});
