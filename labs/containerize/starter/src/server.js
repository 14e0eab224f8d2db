// The app to containerize (plain JavaScript, no build step, no runtime dependencies). Do not change its
// behaviour: write the Dockerfile and .dockerignore that ship it well (README.md).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const greeting = process.env.GREETING ?? 'hello';

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/health') return json(res, 200, { status: 'ok' });
  if (url.pathname === '/') return json(res, 200, { greeting });
  if (url.pathname === '/slow') {
    const ms = Math.min(5000, Math.max(0, Number(url.searchParams.get('ms')) || 0));
    setTimeout(() => json(res, 200, { done: true }), ms);
    return;
  }
  json(res, 404, { error: 'not found' });
});

server.listen(port, '0.0.0.0', () => console.log(`listening on http://localhost:${port}`));

// Graceful shutdown: stop accepting, finish requests in flight, exit.
process.on('SIGTERM', () => {
  console.log('SIGTERM: draining');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
