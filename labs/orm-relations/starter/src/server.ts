import { createServer } from 'node:http';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';

// The grader gives you a port in PORT and an empty PostgreSQL database in DATABASE_URL.
// This starter uses Drizzle (https://orm.drizzle.team); any ORM or query builder is fine (see README.md).
const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const db = drizzle(pool);

// TODO: create the tables users, posts and comments at startup (CREATE TABLE IF NOT EXISTS, README.md),
// describe them to the ORM (pgTable + relations), then implement:
//   POST /users                 201 {"id", "email", "name"}; 409 for an email that exists
//   POST /posts                 201 {"id", "author_id", "title", "body"}; optional initial comments, all or nothing
//   POST /posts/{id}/comments   201 {"id", "post_id", "author_id", "body"}
//   GET  /posts/{id}            the post with its author and its comments, each with its author
//   GET  /posts?limit=N         newest first, each with its author and comment_count, in a bounded number of queries

const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void db; // remove once you use it
});
