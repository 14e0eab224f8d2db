// One node of three. The grader starts three instances of this server (INSTANCE_ID 1, 2, 3), each with its
// own PORT, and gives each its peers in PEERS ("2=127.0.0.1:40001,3=127.0.0.1:40002"): addresses of proxies
// the grader controls, the only way your nodes may reach each other. Contract: README.md.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const me = process.env.INSTANCE_ID ?? '1';
const peers = (process.env.PEERS ?? '').split(',').filter(Boolean);

// TODO: a single node's memory. It must become a replicated store: /cp (a majority or 503) and /ap
// (always accepted, converging by gossip).
const data = new Map<string, string>();

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const m = /^\/cp\/kv\/([^/]+)$/.exec(url.pathname);
  if (m && req.method === 'PUT') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      data.set(m[1]!, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    });
    return;
  }
  if (m && req.method === 'GET') {
    const v = data.get(m[1]!);
    if (v === undefined) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such key"}');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(v);
    return;
  }
  res.writeHead(501, { 'content-type': 'application/json' }).end('{"error":"not implemented yet"}');
}).listen(port, '0.0.0.0', () => console.log(`node ${me} listening on ${port}; peers: ${peers.join(', ') || 'none'}`));
