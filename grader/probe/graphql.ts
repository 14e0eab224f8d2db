// GraphQL over HTTP from the client's side (https://graphql.github.io/graphql-over-http/draft/): one request as a
// real client sends it (POST with a JSON body, or GET with the parameters in the query string), its answer parsed
// as a GraphQL response, and a check of the `errors` entries against the GraphQL spec (section 7.1.2: message,
// locations, path). Every request goes through ctx.http, so failures carry the exchange and its curl line.
//
//   const r = await graphqlRequest(ctx.http, { query: 'query($id: ID!) { author(id: $id) { name } }', variables: { id: '7' } });
//   r.status, r.mediaType ('application/graphql-response+json'), r.body, r.data, r.errors, r.res (HttpResponse)
//   const problems = graphqlErrorProblems(r.body)   // [] when `errors` is absent or well formed
//   locate(query, 'authors')                        // { line, column } of a token, as the spec counts them
import { CheckFailure } from '../errors.ts';
import { mediaType as mediaTypeOf, show } from '../expect.ts';
import type { HttpProbe, HttpResponse } from './http.ts';

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

export interface GraphqlRequestOptions {
  /** POST (default): JSON body. GET: `query`, `variables` (JSON), `operationName` in the URL. */
  method?: 'POST' | 'GET';
  /** The endpoint, default `/graphql`. */
  path?: string;
  /** The Accept header, default `application/graphql-response+json`; `null` sends none. */
  accept?: string | null;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface GraphqlErrorEntry {
  message?: unknown;
  locations?: unknown;
  path?: unknown;
  extensions?: unknown;
  [key: string]: unknown;
}

export interface GraphqlReply {
  res: HttpResponse;
  status: number;
  /** The response's media type without parameters, lowercased ('' when none). */
  mediaType: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
  /** Whether the body is an object with a `data` entry (which may be null). */
  hasData: boolean;
  data: unknown;
  /** The `errors` entry when it is an array. */
  errors?: GraphqlErrorEntry[];
}

/** The URL of a GET request for `request` on `path`. */
export function graphqlGetPath(request: GraphqlRequest, path = '/graphql'): string {
  const params = new URLSearchParams({ query: request.query });
  if (request.variables !== undefined) params.set('variables', JSON.stringify(request.variables));
  if (request.operationName !== undefined) params.set('operationName', request.operationName);
  return `${path}?${params.toString()}`;
}

/** Sends one GraphQL request over HTTP and parses what comes back (never fails on the answer itself). */
export async function graphqlRequest(http: HttpProbe, request: GraphqlRequest, options: GraphqlRequestOptions = {}): Promise<GraphqlReply> {
  const path = options.path ?? '/graphql';
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const accept = options.accept === undefined ? GRAPHQL_RESPONSE_JSON : options.accept;
  if (accept !== null) headers.Accept = accept;
  const res =
    options.method === 'GET'
      ? await http.get(graphqlGetPath(request, path), { headers, timeoutMs: options.timeoutMs })
      : await http.post(path, request, { headers, timeoutMs: options.timeoutMs });
  let body: unknown;
  try {
    body = res.text === '' ? undefined : JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  const obj = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  return {
    res,
    status: res.status,
    mediaType: mediaTypeOf(res.header('content-type')),
    body,
    hasData: obj !== undefined && 'data' in obj,
    data: obj?.data,
    errors: Array.isArray(obj?.errors) ? (obj.errors as GraphqlErrorEntry[]) : undefined,
  };
}

/**
 * What is wrong with a response's `errors` per the GraphQL spec: each entry an object with a non-empty string
 * `message`; `locations`, when present, a non-empty list of `{line, column}` positive integers; `path`, when
 * present, a non-empty list of strings and integers. [] when `errors` is absent or well formed.
 */
export function graphqlErrorProblems(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['the body is not a JSON object'];
  const errors = (body as Record<string, unknown>).errors;
  if (errors === undefined) return [];
  if (!Array.isArray(errors) || errors.length === 0) return ['`errors` must be a non-empty array'];
  const out: string[] = [];
  errors.forEach((e, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return void out.push(`errors[${i}] is not an object`);
    const entry = e as GraphqlErrorEntry;
    if (typeof entry.message !== 'string' || entry.message === '') out.push(`errors[${i}].message must be a non-empty string`);
    if (entry.locations !== undefined) {
      const ok =
        Array.isArray(entry.locations) &&
        entry.locations.length > 0 &&
        entry.locations.every((l) => typeof l === 'object' && l !== null && Number.isInteger((l as { line?: unknown }).line) && Number.isInteger((l as { column?: unknown }).column) && (l as { line: number }).line >= 1 && (l as { column: number }).column >= 1);
      if (!ok) out.push(`errors[${i}].locations must be a list of {"line": n, "column": n} (positive integers)`);
    }
    if (entry.path !== undefined) {
      const ok = Array.isArray(entry.path) && entry.path.length > 0 && entry.path.every((p) => typeof p === 'string' || Number.isInteger(p));
      if (!ok) out.push(`errors[${i}].path must be a list of field names and list indexes`);
    }
  });
  return out;
}

/** The 1-based line and column of the `occurrence`-th `token` in `source`, as GraphQL locations count them. */
export function locate(source: string, token: string, occurrence = 1): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i < occurrence; i++) {
    at = source.indexOf(token, at + 1);
    if (at < 0) throw new Error(`locate: \`${token}\` occurs fewer than ${occurrence} time(s) in the query`);
  }
  const before = source.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** Fails the check unless the response's `errors` entries are well formed (see graphqlErrorProblems). */
export function expectGraphqlErrorsWellFormed(reply: GraphqlReply, why: string): void {
  const problems = graphqlErrorProblems(reply.body);
  if (problems.length === 0) return;
  throw new CheckFailure({
    message: `${why} The \`errors\` entries are not as the GraphQL spec says: ${problems.join('; ')}.`,
    expected: '"errors": [{"message": "...", "locations": [{"line": 1, "column": 3}], "path": ["field", 0, "sub"]}]',
    received: show(reply.body),
    exchange: reply.res.exchange,
  });
}
