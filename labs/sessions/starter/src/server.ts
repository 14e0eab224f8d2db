import { createServer } from 'node:http';
import { Redis } from 'ioredis';

// The grader gives you a port in PORT, a Redis database of your own in REDIS_URL, the accounts in USERS,
// and the timeouts (in seconds) in SESSION_IDLE_TIMEOUT_SECONDS and SESSION_ABSOLUTE_TIMEOUT_SECONDS.
const port = Number(process.env.PORT ?? 3000);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379');
const users = JSON.parse(process.env.USERS ?? '[]') as { username: string; password: string }[];

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   POST /login   {"username", "password"}  -> 200 + Set-Cookie: sid=<new random id>; 401 when wrong
  //   GET  /me      with the sid cookie       -> 200 {"username"}; 401 without a valid session
  //   POST /logout  with the sid cookie       -> 204, the session deleted from Redis, the cookie cleared
  // Sessions live in Redis under sess:<id>, with the idle and absolute timeouts from the environment.
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port} (${users.length} users)`);
  void redis; // remove once you use Redis
});
