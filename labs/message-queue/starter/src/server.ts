import { createServer } from 'node:http';

// The producer (role "api", `npm start`): it listens on PORT. POST /orders publishes an order to RabbitMQ
// (AMQP_URL). See README.md for the queues and their arguments.
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not implemented yet"}');
});

server.listen(port, '0.0.0.0', () => {
  console.log(`api listening on http://localhost:${port}`);
});
