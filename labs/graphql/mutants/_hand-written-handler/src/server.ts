import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { execute, getOperationAST, GraphQLError, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { depthLimit } from './depth.ts';
import { contextFor, formatError, schema } from './schema.ts';

// GraphQL over HTTP at /graphql, written by hand on node:http (no graphql-http): parse, validate, pick the
// operation, execute, and answer with the status and media type the GraphQL-over-HTTP spec asks for.
const port = Number(process.env.PORT ?? 3000);
const GRAPHQL_RESPONSE = 'application/graphql-response+json';

interface Params {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

function acceptedType(accept: string | undefined): string | undefined {
  for (const item of (accept ?? '*/*').toLowerCase().split(',')) {
    const type = item.split(';')[0].trim();
    if (type === GRAPHQL_RESPONSE) return GRAPHQL_RESPONSE;
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'application/json';
  }
  return undefined;
}

function send(res: ServerResponse, status: number, type: string, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, ...headers });
  res.end(JSON.stringify(body));
}

/** Nothing ran: errors and no data; 400 with graphql-response+json, 200 with application/json. */
function requestError(res: ServerResponse, type: string, errors: readonly GraphQLError[]): void {
  send(res, type === GRAPHQL_RESPONSE ? 400 : 200, type, { errors: errors.map((e) => formatError(e)) });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The request's parameters, or a string saying why it is malformed (400). */
async function paramsOf(req: IncomingMessage, url: URL): Promise<Params | string> {
  let raw: Record<string, unknown>;
  if (req.method === 'GET') {
    raw = { query: url.searchParams.get('query') ?? undefined, operationName: url.searchParams.get('operationName') ?? undefined };
    const variables = url.searchParams.get('variables');
    if (variables) {
      try {
        raw.variables = JSON.parse(variables);
      } catch {
        return 'variables is not JSON';
      }
    }
  } else {
    try {
      raw = JSON.parse(await readBody(req));
    } catch {
      return 'the body is not JSON';
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'the body must be a JSON object';
  }
  if (typeof raw.query !== 'string') return 'query is missing';
  if (raw.variables != null && (typeof raw.variables !== 'object' || Array.isArray(raw.variables))) return 'variables must be an object';
  if (raw.operationName != null && typeof raw.operationName !== 'string') return 'operationName must be a string';
  return { query: raw.query, variables: (raw.variables ?? undefined) as Params['variables'], operationName: (raw.operationName ?? undefined) as string | undefined };
}

async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') return send(res, 405, 'application/json', { errors: [{ message: 'use GET or POST' }] }, { Allow: 'GET, POST' });
  const type = acceptedType(req.headers.accept);
  if (!type) return send(res, 406, 'application/json', { errors: [{ message: `Accept ${GRAPHQL_RESPONSE} or application/json` }] });
  if (req.method === 'POST' && (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() !== 'application/json') {
    return send(res, 415, 'application/json', { errors: [{ message: 'send Content-Type: application/json' }] });
  }
  const params = await paramsOf(req, url);
  if (typeof params === 'string') return send(res, 400, type, { errors: [{ message: params }] });

  let document: DocumentNode;
  try {
    document = parse(params.query);
  } catch (err) {
    return requestError(res, type, [err as GraphQLError]);
  }
  const invalid = validate(schema, document, [...specifiedRules, depthLimit()]);
  if (invalid.length) return requestError(res, type, invalid);
  const operation = getOperationAST(document, params.operationName);
  if (!operation) return requestError(res, type, [new GraphQLError('Could not tell which operation to run: name it with operationName.')]);
  if (req.method === 'GET' && operation.operation !== 'query') {
    return send(res, 405, type, { errors: [{ message: 'Only queries may be sent with GET; use POST.' }] }, { Allow: 'POST' });
  }

  const result = await execute({
    schema,
    document,
    operationName: params.operationName,
    variableValues: params.variables,
    contextValue: contextFor(),
  });
  if (!('data' in result) || result.data === undefined) return requestError(res, type, result.errors ?? []);
  send(res, 200, type, result.errors?.length ? { data: result.data, errors: result.errors.map((e) => formatError(e)) } : { data: result.data });
}

const server = createServer((req, res) => {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  if (url.pathname !== '/graphql') return send(res, 404, 'application/json', { error: 'not found: the endpoint is /graphql' });
  handle(req, res, url).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, 'application/json', { errors: [{ message: 'Internal server error' }] });
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => console.log(`GraphQL on http://localhost:${port}/graphql`));
