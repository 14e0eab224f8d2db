import { createServer } from 'node:http';

// The grader gives you PORT, the routes to its backends in ROUTES (e.g.
// "/api/=http://127.0.0.1:41001,/api/v2/=http://127.0.0.1:41002,/static/=http://127.0.0.1:41003")
// and UPSTREAM_TIMEOUT_MS.
const port = Number(process.env.PORT ?? 3000);
const routes = process.env.ROUTES ?? '';
const timeoutMs = Number(process.env.UPSTREAM_TIMEOUT_MS ?? 1000);

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   route by the longest matching prefix, forward method, target, headers and body (streamed),
  //   X-Forwarded-For / -Proto / -Host and Forwarded, strip hop-by-hop headers both ways,
  //   504 when the backend is too slow, 502 when it refuses or resets, 400 for dot-segments, 404 no route.
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'text/plain' });
  res.end('not implemented yet\n');
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void [routes, timeoutMs]; // remove once you use them
});
