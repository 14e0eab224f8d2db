// Reference solution: chat rooms over WebSocket with `ws` on node:http.
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`The environment variable ${name} is required.`);
    process.exit(1);
  }
  return value;
}

const port = Number(process.env.PORT ?? 3000);
const TOKENS = JSON.parse(required('CHAT_TOKENS')) as Record<string, string>;
const ALLOWED_ORIGINS = new Set(required('ALLOWED_ORIGINS').split(',').map((o) => o.trim()).filter(Boolean));
const HEARTBEAT_MS = Number(required('HEARTBEAT_MS'));
const MAX_MESSAGE_BYTES = Number(required('MAX_MESSAGE_BYTES'));
const MAX_BUFFERED_BYTES = Number(required('MAX_BUFFERED_BYTES'));
const ROOM = /^[a-z0-9-]{1,64}$/;

interface Client {
  ws: WebSocket;
  user: string;
  rooms: Set<string>;
  alive: boolean;
}

const rooms = new Map<string, Set<Client>>();
const clients = new Set<Client>();

// maxPayload: a bigger message closes the connection with 1009 (Message Too Big).
const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not found"}');
});

/** Refuses a handshake with a plain HTTP answer: no 101, so the client never gets a connection. */
function refuse(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  socket.end(`HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  socket.on('error', () => {}); // a client that resets mid-handshake must not take the server down
  // Everything in the request comes from the network: a target like `//[` is not a URL, and new URL throws.
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return refuse(socket, 400, 'the request target is not a URL');
  }
  if (url.pathname !== '/chat') return refuse(socket, 404, 'no such endpoint');
  const origin = req.headers.origin;
  if (origin !== undefined && !ALLOWED_ORIGINS.has(origin)) return refuse(socket, 403, `origin ${origin} is not allowed`);
  const token = url.searchParams.get('token') ?? '';
  const user = Object.hasOwn(TOKENS, token) ? TOKENS[token] : undefined;
  if (!user) return refuse(socket, 401, 'a valid token is required');
  wss.handleUpgrade(req, socket, head, (ws) => connected(ws, user));
});

function send(client: Client, message: object): void {
  if (client.ws.readyState !== client.ws.OPEN) return;
  client.ws.send(JSON.stringify(message));
  // A client that does not read lets our buffer grow: drop it instead of holding its backlog.
  if (client.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
    console.log(`${client.user}: ${client.ws.bufferedAmount} bytes waiting, dropping the connection`);
    client.ws.terminate();
  }
}

function leave(client: Client, room: string): void {
  const members = rooms.get(room);
  if (!members?.delete(client)) return;
  client.rooms.delete(room);
  if (members.size === 0) rooms.delete(room);
  else for (const other of members) send(other, { type: 'presence', room, user: client.user, status: 'left' });
}

function connected(ws: WebSocket, user: string): void {
  const client: Client = { ws, user, rooms: new Set(), alive: true };
  clients.add(client);
  ws.on('pong', () => (client.alive = true));
  ws.on('close', () => {
    clients.delete(client);
    for (const room of [...client.rooms]) leave(client, room);
  });
  ws.on('error', () => {}); // a reset peer: 'close' follows
  ws.on('message', (data, isBinary) => {
    let msg: any;
    try {
      msg = JSON.parse(isBinary ? '' : data.toString());
    } catch {
      return send(client, { type: 'error', code: 'bad-json' });
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.room !== 'string' || !ROOM.test(msg.room)) {
      return send(client, { type: 'error', code: 'bad-message', ref: msg?.ref });
    }
    const room: string = msg.room;
    if (msg.type === 'join') {
      if (!client.rooms.has(room)) {
        const members = rooms.get(room) ?? new Set<Client>();
        rooms.set(room, members);
        for (const other of members) send(other, { type: 'presence', room, user, status: 'joined' });
        members.add(client);
        client.rooms.add(room);
      }
      return send(client, { type: 'joined', room, members: [...new Set([...rooms.get(room)!].map((c) => c.user))].sort() });
    }
    if (msg.type === 'leave') {
      leave(client, room);
      return send(client, { type: 'left', room });
    }
    if (msg.type === 'say') {
      if (typeof msg.text !== 'string') return send(client, { type: 'error', code: 'bad-message', ref: msg.ref });
      if (!client.rooms.has(room)) return send(client, { type: 'error', code: 'not-in-room', ref: msg.ref });
      const out = { type: 'message', room, from: user, text: msg.text, ref: msg.ref };
      for (const member of rooms.get(room)!) send(member, out);
      return;
    }
    send(client, { type: 'error', code: 'bad-message', ref: msg.ref });
  });
}

// Heartbeat: ping everyone every HEARTBEAT_MS; whoever has not answered the previous ping is gone.
const heartbeat = setInterval(() => {
  for (const client of clients) {
    if (!client.alive) {
      console.log(`${client.user}: no pong, terminating`);
      client.ws.terminate();
      continue;
    }
    client.alive = false;
    client.ws.ping();
  }
}, HEARTBEAT_MS);

process.on('SIGTERM', () => {
  clearInterval(heartbeat);
  for (const client of clients) client.ws.close(1001, 'server shutting down');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
