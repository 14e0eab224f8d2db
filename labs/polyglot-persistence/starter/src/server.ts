import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';

// The grader gives you a port in PORT, an empty PostgreSQL database in DATABASE_URL and a Redis database of
// your own in REDIS_URL.
const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const redis = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379');

// TODO (README.md):
//   PostgreSQL: tables players and orders, with their rules as constraints (UNIQUE, REFERENCES, CHECK)
//   POST /players, POST /orders, GET /players/{id}/orders
//   Redis: the sorted set `leaderboard` (POST /players/{id}/score, GET /leaderboard?limit=N)
//   GET /players/{id}/summary cached in Redis, with a TTL, dropped when an order is written

const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void pool; // remove once you use them
  void redis;
});
