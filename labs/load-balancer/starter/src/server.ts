import { createServer } from 'node:http';

// The grader gives you PORT, the backends to balance in BACKENDS (comma-separated base URLs), the path of
// their health endpoint in HEALTH_PATH and how often to probe it in HEALTH_INTERVAL_MS.
const port = Number(process.env.PORT ?? 3000);
const backends = (process.env.BACKENDS ?? '').split(',').filter(Boolean);
const healthPath = process.env.HEALTH_PATH ?? '/health';
const intervalMs = Number(process.env.HEALTH_INTERVAL_MS ?? 1000);

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   forward every request (method, path and query, headers, body) to one backend, round robin over the
  //   backends in rotation, and pass its answer back;
  //   probe HEALTH_PATH on every backend every HEALTH_INTERVAL_MS: not 2xx -> out of rotation, 2xx -> back in;
  //   a connection error takes a backend out too; GET/HEAD/PUT/DELETE are retried once on another backend;
  //   no backend in rotation -> 503 with Retry-After.
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void [backends, healthPath, intervalMs]; // remove once you use them
});
