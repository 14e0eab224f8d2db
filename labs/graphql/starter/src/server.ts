import { createServer } from 'node:http';
import pg from 'pg';

// The grader gives you a port in PORT and a PostgreSQL database in DATABASE_URL that already holds the tables
// `authors` and `books` (README.md, "The data"). Serve the GraphQL schema of README.md at /graphql, per the
// GraphQL-over-HTTP spec.
//
// Suggested pieces (all installed by package.json): `graphql` (the schema and executor), `graphql-http` (the
// protocol: POST/GET, Accept, status codes; `createHandler` from 'graphql-http/lib/use/http'), and `dataloader`
// (one batch per request for the books of many authors, and the authors of many books).
const port = Number(process.env.PORT ?? 3000);
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/graphql') {
    // TODO: parse the request (POST JSON body, or GET ?query=&variables=&operationName=), run it against the schema,
    // and answer {"data": ..., "errors": [...]} with the right status and Content-Type.
    res.writeHead(501, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'GraphQL is not implemented yet' }));
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
});

server.listen(port, '0.0.0.0', () => console.log(`listening on ${port}`));
