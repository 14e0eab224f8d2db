// inventory: owns the stock. Started with `npm run inventory`, on its own PORT.
import { createServer, type ServerResponse } from 'node:http';

const PORT = Number(process.env.PORT ?? 3001);

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

// TODO: items (PUT/GET /items/<sku>), reservations, GET /calls; keep the stock in DATA_DIR/inventory/.
createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok' });
  send(res, 404, { error: 'not found' });
}).listen(PORT, () => console.log(`inventory listening on ${PORT}`));
