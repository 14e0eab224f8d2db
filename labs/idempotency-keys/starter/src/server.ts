import { createServer } from 'node:http';
import pg from 'pg';

// The grader gives you a port in PORT and an empty PostgreSQL database in DATABASE_URL.
const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

// TODO: at startup, create the `payments` table (see README.md for its columns) and a table of your own
// for the idempotency keys.

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   POST /payments  with Idempotency-Key: "<key>" and {"amount", "currency", "recipient"}
  //     first time                     201 + the payment (a row in payments)
  //     no Idempotency-Key             400 problem+json
  //     same key, same body, done      the first response again (same status and body), no new row
  //     same key, another body         422 problem+json
  //     same key, first still running  409 problem+json, at once
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title: 'Not Implemented', status: 501, detail: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void pool; // remove once you use the pool
});
