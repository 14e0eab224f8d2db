import { createServer } from 'node:http';

// The API process (role "api", `npm start`): it listens on PORT. See README.md for the contract:
// POST /reports answers 202 at once; GET /reports/<id> tells the job's status. The work itself belongs to
// the worker (src/worker.ts), never to this process.
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not implemented yet"}');
});

server.listen(port, '0.0.0.0', () => {
  console.log(`api listening on http://localhost:${port}`);
});
