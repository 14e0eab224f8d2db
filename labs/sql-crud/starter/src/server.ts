import { createServer } from 'node:http';
import pg from 'pg';

// The grader gives you a port in PORT and an empty PostgreSQL database in DATABASE_URL.
const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

// TODO: create the `todos` table at startup if it does not exist (see README.md for its columns).

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   POST /todos          201 + Location, the new todo; 400 for a bad body; 409 for a title that exists
  //   GET  /todos          every todo, oldest first; ?search=text keeps the titles that contain text
  //   GET  /todos/{id}     200 with the todo, 404 when there is none
  // Every query parameterised ($1, $2...), every request served from the pool above.
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void pool; // remove once you use the pool
});
