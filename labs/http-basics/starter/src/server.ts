import { createServer } from 'node:http';

// The grader gives you a port in the PORT environment variable: always listen on it.
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  // TODO: route requests. See README.md for the contract:
  //   GET /health, GET /, GET /api/greet?name=..., POST /api/echo,
  //   404 for unknown routes, 405 + Allow for wrong methods, 400 for malformed JSON, 415 for non-JSON.
  console.log(`${req.method} ${req.url}`);
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not implemented yet\n');
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
