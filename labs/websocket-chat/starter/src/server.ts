import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

// The grader gives you a port in the PORT environment variable: always listen on it.
const port = Number(process.env.PORT ?? 3000);

const server = createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not found"}');
});

// TODO: see README.md for the contract. Accept upgrades on /chat only with a valid ?token= (401 before the
// upgrade otherwise) and an allowed Origin (403), then implement the rooms protocol, the heartbeat, the size
// and buffer limits, and a clean shutdown on SIGTERM.
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket) => {
  console.log(`upgrade ${req.url}: not implemented yet`);
  socket.end('HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
});
void wss;

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
