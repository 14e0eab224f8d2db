import { createServer } from 'node:http';

// The grader gives you a port in the PORT environment variable: always listen on it.
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  // TODO: see README.md for the contract: POST /items, GET /events (a Server-Sent Events stream with ids,
  // resume with Last-Event-ID, heartbeat comments), GET /stats.
  console.log(`${req.method} ${req.url}`);
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not implemented yet"}');
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
