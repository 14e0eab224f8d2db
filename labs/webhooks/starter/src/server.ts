import { createServer } from 'node:http';

// The grader gives you PORT, WEBHOOK_SECRET (verifies what you receive), DELIVERY_URL and DELIVERY_SECRET
// (where and how you send), DELIVERY_RETRY_BASE_MS and DELIVERY_TIMEOUT_MS. See README.md.
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  // TODO: see README.md for the contract:
  //   POST /webhooks            receive a Standard Webhooks event: verify, deduplicate, apply
  //   GET  /accounts/:account   {"account": "...", "balance": <number>}
  //   POST /events              send an event to DELIVERY_URL, signed, retried with backoff
  console.log(`${req.method} ${req.url}`);
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
