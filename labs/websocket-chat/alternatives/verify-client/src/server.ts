// A second correct answer, written from the README alone: `ws` attached to the HTTP server
// (`new WebSocketServer({ server, path, verifyClient })`) instead of handling the upgrade event by hand, a
// Client class per connection with its own heartbeat deadline, and rooms kept as Map<room, Map<user-connection id, Client>>.
import { createServer, type IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3000);
const tokens = new Map<string, string>(Object.entries(JSON.parse(process.env.CHAT_TOKENS ?? '{}') as Record<string, string>));
const origins = new Set((process.env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean));
const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? 30_000);
const maxMessage = Number(process.env.MAX_MESSAGE_BYTES ?? 65_536);
const maxBuffered = Number(process.env.MAX_BUFFERED_BYTES ?? 1_048_576);
const ROOM = /^[a-z0-9-]{1,64}$/;

const users = new WeakMap<IncomingMessage, string>();
let nextId = 1;

class Client {
  readonly id = nextId++;
  readonly rooms = new Set<string>();
  private answered = true;
  constructor(
    readonly ws: WebSocket,
    readonly user: string,
  ) {}

  send(payload: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(payload);
    // Whatever cannot go out now waits in our memory: past the limit, this reader is too slow.
    if (this.ws.bufferedAmount > maxBuffered) this.ws.terminate();
  }

  /** Called every HEARTBEAT_MS: no pong since the last ping means the peer is gone. */
  beat(): void {
    if (!this.answered) return void this.ws.terminate();
    this.answered = false;
    this.ws.ping();
  }

  pong(): void {
    this.answered = true;
  }
}

const rooms = new Map<string, Map<number, Client>>();

function broadcast(room: string, message: object, except?: Client): void {
  const text = JSON.stringify(message);
  for (const member of rooms.get(room)?.values() ?? []) if (member !== except) member.send(text);
}

function leave(client: Client, room: string): void {
  const members = rooms.get(room);
  if (!members?.delete(client.id)) return;
  client.rooms.delete(room);
  if (members.size === 0) rooms.delete(room);
  broadcast(room, { type: 'presence', room, user: client.user, status: 'left' });
}

function onMessage(client: Client, data: string): void {
  let msg: { type?: unknown; room?: unknown; text?: unknown; ref?: unknown };
  try {
    msg = JSON.parse(data);
  } catch {
    return client.send(JSON.stringify({ type: 'error', code: 'bad-json' }));
  }
  if (msg === null || typeof msg !== 'object' || typeof msg.room !== 'string' || !ROOM.test(msg.room)) {
    return client.send(JSON.stringify({ type: 'error', code: 'bad-message' }));
  }
  const room = msg.room;
  if (msg.type === 'join') {
    let members = rooms.get(room);
    if (!members) rooms.set(room, (members = new Map()));
    const fresh = !members.has(client.id);
    members.set(client.id, client);
    client.rooms.add(room);
    client.send(JSON.stringify({ type: 'joined', room, members: [...members.values()].map((m) => m.user) }));
    if (fresh) broadcast(room, { type: 'presence', room, user: client.user, status: 'joined' }, client);
  } else if (msg.type === 'leave') {
    leave(client, room);
    client.send(JSON.stringify({ type: 'left', room }));
  } else if (msg.type === 'say' && typeof msg.text === 'string') {
    if (!client.rooms.has(room)) return client.send(JSON.stringify({ type: 'error', code: 'not-in-room', ref: msg.ref }));
    broadcast(room, { type: 'message', room, from: client.user, text: msg.text, ref: msg.ref });
  } else {
    client.send(JSON.stringify({ type: 'error', code: 'bad-message' }));
  }
}

const server = createServer((_req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
  res.end('WebSocket only: GET /chat?token=... with Upgrade: websocket\n');
});

const wss = new WebSocketServer({
  server,
  path: '/chat',
  maxPayload: maxMessage,
  // Runs before the 101: refusing here answers plain HTTP and never upgrades.
  verifyClient(info, done) {
    const origin = info.req.headers.origin;
    const token = new URL(info.req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
    const user = tokens.get(token);
    if (user === undefined) return done(false, 401, 'Unauthorized');
    if (origin !== undefined && !origins.has(origin)) return done(false, 403, 'Forbidden');
    users.set(info.req, user);
    done(true);
  },
});

const clients = new Set<Client>();
wss.on('connection', (ws, req) => {
  const client = new Client(ws, users.get(req)!);
  clients.add(client);
  ws.on('pong', () => client.pong());
  ws.on('message', (data, isBinary) => onMessage(client, isBinary ? '' : data.toString('utf8')));
  ws.on('error', () => {}); // 1009 and protocol errors: ws closes the connection itself
  ws.on('close', () => {
    clients.delete(client);
    for (const room of [...client.rooms]) leave(client, room);
  });
});

setInterval(() => {
  for (const c of clients) c.beat();
}, heartbeatMs).unref();

process.on('SIGTERM', () => {
  for (const c of clients) c.ws.close(1001, 'server shutting down');
  server.close();
  setTimeout(() => process.exit(0), 300).unref();
  wss.close(() => process.exit(0));
});

server.listen(port, '0.0.0.0', () => console.log(`chat listening on http://localhost:${port}`));
