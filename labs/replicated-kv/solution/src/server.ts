// Three nodes, two stores. /cp: a register per key replicated with majority quorums (ABD): a write learns
// the highest version from a majority, then stores version+1 on a majority; a read asks a majority, takes
// the highest version and writes it back to a majority before answering. Without a majority within
// CP_TIMEOUT_MS: 503. /ap: grow-only counters (a G-counter CRDT): increments are local and always accepted,
// nodes gossip their state every GOSSIP_MS and merge by taking, per node, the highest count; and registers
// where the last writer wins, by hybrid logical clock timestamps, gossiped the same way.
// Nodes reach each other only through PEERS (the grader's proxies).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A path segment, percent-decoded; a malformed escape (`%zz`) is kept as it is instead of throwing. */
const decodeSegment = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

const port = Number(process.env.PORT ?? 3000);
const me = process.env.INSTANCE_ID ?? '1';
const timeoutMs = Number(process.env.CP_TIMEOUT_MS ?? 500);
const gossipMs = Number(process.env.GOSSIP_MS ?? 200);
const peers = (process.env.PEERS ?? '')
  .split(',')
  .filter(Boolean)
  .map((p) => {
    const [id, addr] = p.split('=');
    return { id: id!, url: `http://${addr}` };
  });
const majority = Math.floor((peers.length + 1) / 2) + 1;

type Version = [number, string]; // [counter, node]: compared by counter, then node id
interface Entry {
  version: Version;
  value: string | null;
}
const newer = (a: Version, b: Version) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
const registers = new Map<string, Entry>();
const local = (key: string): Entry => registers.get(key) ?? { version: [0, ''], value: null };
function store(key: string, e: Entry): void {
  if (newer(e.version, local(key).version)) registers.set(key, e);
}

/** Calls every peer; resolves with the answers of the first `need` that answered (self excluded), or undefined. */
async function quorum<T>(need: number, call: (url: string, signal: AbortSignal) => Promise<T>): Promise<T[] | undefined> {
  if (need <= 0) return [];
  const ctl = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve) => {
    const got: T[] = [];
    let settled = 0;
    let done = false;
    for (const p of peers) {
      call(p.url, ctl).then(
        (v) => {
          settled++;
          if (done) return;
          got.push(v);
          if (got.length >= need) {
            done = true;
            resolve(got);
          }
        },
        () => {
          settled++;
          if (!done && settled === peers.length) {
            done = true;
            resolve(undefined);
          }
        },
      );
    }
  });
}

async function peerGet(url: string, key: string, signal: AbortSignal): Promise<Entry> {
  const res = await fetch(`${url}/internal/cp/${encodeURIComponent(key)}`, { signal });
  if (!res.ok) throw new Error(`peer answered ${res.status}`);
  return (await res.json()) as Entry;
}

async function peerPut(url: string, key: string, e: Entry, signal: AbortSignal): Promise<true> {
  const res = await fetch(`${url}/internal/cp/${encodeURIComponent(key)}`, { method: 'PUT', body: JSON.stringify(e), headers: { 'content-type': 'application/json' }, signal });
  if (!res.ok) throw new Error(`peer answered ${res.status}`);
  return true;
}

/** The highest entry a majority (this node and majority-1 peers) knows, or undefined without a majority. */
async function readQuorum(key: string): Promise<Entry | undefined> {
  const answers = await quorum(majority - 1, (url, signal) => peerGet(url, key, signal));
  if (!answers) return undefined;
  return [local(key), ...answers].reduce((a, b) => (newer(b.version, a.version) ? b : a));
}

async function writeQuorum(key: string, e: Entry): Promise<boolean> {
  store(key, e);
  return (await quorum(majority - 1, (url, signal) => peerPut(url, key, e, signal))) !== undefined;
}

// AP: per counter, the count each node has accepted.
const counters = new Map<string, Record<string, number>>();
const total = (name: string) => Object.values(counters.get(name) ?? {}).reduce((a, b) => a + b, 0);
function merge(state: Record<string, Record<string, number>>): void {
  for (const [name, byNode] of Object.entries(state)) {
    const mine = counters.get(name) ?? {};
    for (const [node, n] of Object.entries(byNode)) if (typeof n === 'number' && n > (mine[node] ?? 0)) mine[node] = n;
    counters.set(name, mine);
  }
}
setInterval(() => {
  const body = JSON.stringify(Object.fromEntries(counters));
  for (const p of peers) {
    fetch(`${p.url}/internal/ap/state`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs) }).catch(() => {});
  }
}, gossipMs).unref();

// AP register: per key the value with the highest version [ms, counter, node], a hybrid logical clock
// timestamp (ms from this node's clock, or higher if it has seen higher; counter orders events within one ms).
type Hlc = [number, number, number];
const meNumber = Number(me);
const after = (a: Hlc, b: Hlc) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const lww = new Map<string, { value: string; version: Hlc }>();
let clock: Hlc = [0, 0, meNumber];
/** The next timestamp: above everything this node has seen, and at least its clock. */
function tick(): Hlc {
  const now = Date.now();
  clock = now > clock[0] ? [now, 0, meNumber] : [clock[0], clock[1] + 1, meNumber];
  return clock;
}
/** Keeps the higher version; moves this node's clock past what it has seen. */
function keep(key: string, entry: { value: string; version: Hlc }): void {
  const mine = lww.get(key);
  if (!mine || after(entry.version, mine.version) > 0) lww.set(key, entry);
  if (after(entry.version, clock) > 0) clock = [entry.version[0], entry.version[1], meNumber];
}
setInterval(() => {
  const body = JSON.stringify(Object.fromEntries(lww));
  for (const p of peers) {
    fetch(`${p.url}/internal/ap/registers`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs) }).catch(() => {});
  }
}, gossipMs).unref();

function send(res: ServerResponse, status: number, body?: unknown, type = 'application/json'): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let requestUrl: URL;
  try {
    requestUrl = new URL(req.url ?? '/', 'http://x');
  } catch {
    // A target that is not a URL (`//[`) is the client's error: answer 400, never crash on it.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('malformed request target\n');
    return;
  }
  const url = requestUrl;
  const parts = url.pathname.split('/').filter(Boolean).map(decodeSegment);
  const method = req.method ?? 'GET';

  if (parts[0] === 'internal' && parts[1] === 'cp' && parts.length === 3) {
    if (method === 'GET') return send(res, 200, local(parts[2]!));
    if (method === 'PUT') {
      store(parts[2]!, JSON.parse(await readBody(req)) as Entry);
      return send(res, 204);
    }
  }
  if (parts[0] === 'internal' && parts[1] === 'ap' && parts[2] === 'state' && method === 'POST') {
    merge(JSON.parse(await readBody(req)) as Record<string, Record<string, number>>);
    return send(res, 204);
  }

  if (parts[0] === 'internal' && parts[1] === 'ap' && parts[2] === 'registers' && method === 'POST') {
    const received = JSON.parse(await readBody(req)) as Record<string, { value: string; version: Hlc }>;
    for (const [key, entry] of Object.entries(received)) keep(key, entry);
    return send(res, 204);
  }

  if (parts[0] === 'ap' && parts[1] === 'kv' && parts.length === 3) {
    const key = parts[2]!;
    if (method === 'PUT') {
      const value = await readBody(req);
      const version = tick();
      keep(key, { value, version });
      return send(res, 200, { key, version });
    }
    if (method === 'GET') {
      const entry = lww.get(key);
      return entry ? send(res, 200, { key, value: entry.value, version: entry.version }) : send(res, 404, { error: 'no such key' });
    }
  }

  if (parts[0] === 'cp' && parts[1] === 'kv' && parts.length === 3) {
    const key = parts[2]!;
    if (method === 'PUT') {
      const value = await readBody(req);
      const seen = await readQuorum(key);
      if (!seen) return send(res, 503, { error: 'no majority' });
      const ok = await writeQuorum(key, { version: [seen.version[0] + 1, me], value });
      return ok ? send(res, 204) : send(res, 503, { error: 'no majority' });
    }
    if (method === 'GET') {
      const seen = await readQuorum(key);
      if (!seen) return send(res, 503, { error: 'no majority' });
      // Write back before answering, so no later read can return an older value.
      if (seen.value !== null && !(await writeQuorum(key, seen))) return send(res, 503, { error: 'no majority' });
      if (seen.value === null) return send(res, 404, { error: 'no such key' });
      return send(res, 200, seen.value, 'text/plain; charset=utf-8');
    }
  }

  if (parts[0] === 'ap' && parts[1] === 'counters' && parts.length >= 3) {
    const name = parts[2]!;
    if (method === 'POST' && parts[3] === 'increment' && parts.length === 4) {
      const mine = counters.get(name) ?? {};
      mine[me] = (mine[me] ?? 0) + 1;
      counters.set(name, mine);
      return send(res, 200, { name, value: total(name) });
    }
    if (method === 'GET' && parts.length === 3) return send(res, 200, { name, value: total(name) });
  }

  if (url.pathname === '/health') return send(res, 200, { status: 'ok', node: me });
  send(res, 404, { error: 'not found' });
}

createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
  });
}).listen(port, '0.0.0.0', () => console.log(`node ${me} listening on ${port}; peers ${peers.map((p) => `${p.id}@${p.url}`).join(', ')}`));
