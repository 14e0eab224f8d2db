import { createServer } from 'node:http';
import { createHandler } from 'graphql-http/lib/use/http';
import { depthLimit } from './depth.ts';
import { contextFor, formatError, schema } from './schema.ts';

// GraphQL over HTTP at /graphql, as the GraphQL-over-HTTP spec says: graphql-http does the protocol (POST with
// JSON, GET for queries only, 405 for a mutation over GET, Accept and status codes); we give it the schema, a
// context per request (its own DataLoaders), the depth limit and the error masking.
const port = Number(process.env.PORT ?? 3000);

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

/** The media type graphql-http picks from Accept: the first listed of ours (no q-values). */
function acceptedType(accept: string | undefined): string | undefined {
  for (const item of (accept ?? '*/*').toLowerCase().split(',')) {
    const type = item.split(';')[0].trim();
    if (type === GRAPHQL_RESPONSE) return GRAPHQL_RESPONSE;
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'application/json';
  }
  return undefined;
}

const graphqlHandler = createHandler({
  schema,
  context: () => contextFor(),
  validationRules: [depthLimit()],
  formatError: (err) => formatError(err as never) as never,
  // Variables of the wrong type fail before execution: a response without `data`. graphql-http answers those 200;
  // the spec wants a 4xx for application/graphql-response+json (application/json stays 200).
  onOperation: (req, _args, result) => {
    if ('data' in result || !result.errors?.length || acceptedType(req.raw.headers.accept) !== GRAPHQL_RESPONSE) return undefined;
    return [
      JSON.stringify({ errors: result.errors.map((e) => formatError(e)) }),
      { status: 400, statusText: 'Bad Request', headers: { 'content-type': `${GRAPHQL_RESPONSE}; charset=utf-8` } },
    ];
  },
});

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/graphql') {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found: the endpoint is /graphql' }));
    return;
  }
  graphqlHandler(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ message: 'Internal server error' }] }));
  });
});

server.listen(port, '0.0.0.0', () => console.log(`GraphQL on http://localhost:${port}/graphql`));
