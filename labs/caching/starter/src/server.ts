import { createServer } from 'node:http';
import { Redis } from 'ioredis';

// The grader gives you PORT, a Redis database in REDIS_URL, the slow upstream service in UPSTREAM_URL
// and the cache lifetime in CACHE_TTL_SECONDS.
const port = Number(process.env.PORT ?? 3000);
const upstream = process.env.UPSTREAM_URL ?? 'http://localhost:4000';
const ttlSeconds = Number(process.env.CACHE_TTL_SECONDS ?? 60);
const redis = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379');

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   GET /products/{id}   the upstream's product (GET {UPSTREAM_URL}/products/{id}), cache-aside in Redis
  //                        with a TTL of CACHE_TTL_SECONDS, one upstream request for many concurrent misses,
  //                        ETag + If-None-Match -> 304, Cache-Control: max-age
  //   PUT /products/{id}   forwarded to the upstream, then the cached entry is invalidated
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void [upstream, ttlSeconds, redis]; // remove once you use them
});
