// orders: takes orders and reserves their stock at inventory over HTTP. Started with `npm start`.
// It learns where inventory is from PEERS (e.g. PEERS=inventory=127.0.0.1:40001): always call that address.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const PORT = Number(process.env.PORT ?? 3000);
const INVENTORY = `http://${(process.env.PEERS ?? '').split(',').find((p) => p.startsWith('inventory='))?.slice('inventory='.length) ?? ''}`;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok' });
  if (req.method === 'POST' && req.url === '/orders') {
    const body = await readJson(req);
    // TODO: validate, store the order (DATA_DIR/orders/), a timeout, a circuit breaker, X-Request-Id...
    const answer = await fetch(`${INVENTORY}/reservations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ orderId: 'todo', sku: body?.sku, qty: body?.qty }),
    });
    return send(res, answer.status === 201 ? 201 : 502, await answer.json().catch(() => ({})));
  }
  send(res, 404, { error: 'not found' });
}).listen(PORT, () => console.log(`orders listening on ${PORT}`));
