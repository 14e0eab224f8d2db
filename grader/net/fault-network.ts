// A network the grader controls between the learner's processes: every link from one node to another (and
// from the grader's client to each node) is a small TCP proxy on 127.0.0.1, and the nodes learn their peers
// only through those proxy addresses (PEERS). Checks then break links on purpose:
//   partition([1], [2, 3])   links between the groups blackholed (connections accepted, nothing delivered)
//   heal()                   every link back to normal; connections held by a blackhole are cut, so the
//                            nodes reconnect instead of receiving stale bytes
//   delay(from, to, ms)      bytes delivered ms later
//   drop(from, to)           that one link blackholed
//   reset(from, to)          connections on that link reset, new ones reset at once
//   delayReplies(from, to, ms) / dropReplies(from, to)
//                            only the answers (bytes from `to` back to `from`) delayed or swallowed: the
//                            request arrives and is acted on, its answer comes late or never
// Every fault is recorded with its time (ms since the network started) for the failure transcript and the
// history timeline. Loopback only: nothing here listens beyond 127.0.0.1.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A node is an instance id ('1'..'N') or a role name ('orders'); 'client' is the grader's own client. */
export type NodeId = string;
export const CLIENT: NodeId = 'client';

export type LinkMode = { kind: 'up' } | { kind: 'blackhole' } | { kind: 'reset' } | { kind: 'delay'; ms: number };

export interface FaultEvent {
  at: number;
  what: string;
}

/** One direction of a connection: chunks still held by a delay, and what waits for them to go out. */
interface Flow {
  pending: number;
  waiters: (() => void)[];
}

const afterFlushed = (flow: Flow, fn: () => void) => (flow.pending === 0 ? fn() : flow.waiters.push(fn));

interface Pair {
  client: Socket;
  upstream: Socket;
}

class Link {
  mode: LinkMode = { kind: 'up' };
  /** The mode of the answers (upstream -> client) when it differs from `mode` (delayReplies, dropReplies). */
  replyMode?: LinkMode;
  private server?: Server;
  readonly pairs = new Set<Pair>();
  port = 0;
  /** Connections accepted, and bytes delivered each way. */
  connections = 0;
  bytes = 0;

  constructor(
    readonly from: NodeId,
    readonly to: NodeId,
    /** undefined: the node is not started yet. */
    private readonly targetPort: () => number | undefined,
    private readonly targetHost = '127.0.0.1',
  ) {}

  async listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  private accept(client: Socket): void {
    this.connections++;
    client.setNoDelay(true);
    if (this.mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const target = this.targetPort();
    if (target === undefined) {
      // The node is not started yet (a peer calls it at its own startup): it looks down, i.e. reset.
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: this.targetHost, port: target });
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    const toUpstream = this.pipe(client, upstream, false);
    const toClient = this.pipe(upstream, client, true);
    client.on('error', close).on('close', () => this.closeAfter(toUpstream, false, close));
    upstream.on('error', () => {
      // The node is down: the peer sees the connection reset, as it would talking to it directly.
      if (!client.destroyed) client.resetAndDestroy();
      close();
    });
    upstream.on('close', () => this.closeAfter(toClient, true, close));
  }

  /**
   * One side closed: the other learns it after the bytes still delayed towards it (a close travels behind
   * the data), and not at all through a blackhole (the FIN is swallowed too: the other side stays open
   * until it gives up, or until heal cuts the connection).
   */
  private closeAfter(flow: Flow, reply: boolean, close: () => void): void {
    const mode = (reply && this.replyMode) || this.mode;
    if (mode.kind === 'blackhole') return;
    afterFlushed(flow, close);
  }

  /** Forwards a → b under the link's mode (the reply mode for answers) at the time each chunk arrives. */
  private pipe(a: Socket, b: Socket, reply: boolean): Flow {
    const flow: Flow = { pending: 0, waiters: [] };
    a.on('data', (chunk: Buffer) => {
      const mode = (reply && this.replyMode) || this.mode;
      if (mode.kind === 'blackhole') return; // swallowed: the sender thinks it went out
      if (mode.kind === 'reset') {
        a.resetAndDestroy();
        b.resetAndDestroy();
        return;
      }
      this.bytes += chunk.length;
      if (mode.kind === 'delay') {
        // A paused source keeps the order of chunks: deliver after the delay, then read on.
        a.pause();
        flow.pending++;
        setTimeout(() => {
          if (!b.destroyed) b.write(chunk);
          flow.pending--;
          a.resume();
          if (flow.pending === 0) for (const w of flow.waiters.splice(0)) w();
        }, mode.ms);
        return;
      }
      if (!b.write(chunk)) {
        a.pause();
        b.once('drain', () => a.resume());
      }
    });
    a.on('end', () => {
      const mode = (reply && this.replyMode) || this.mode;
      if (mode.kind === 'up' || mode.kind === 'delay') afterFlushed(flow, () => b.destroyed || b.end());
    });
    return flow;
  }

  /** Answers only: delayed or swallowed while requests still go through (undefined: as the link). */
  setReplies(mode: LinkMode | undefined): void {
    const before = this.replyMode?.kind;
    this.replyMode = mode;
    if (before === 'blackhole' && mode?.kind !== 'blackhole') for (const p of [...this.pairs]) (p.client.resetAndDestroy(), p.upstream.resetAndDestroy());
  }

  set(mode: LinkMode): void {
    if (mode.kind === 'up') this.setReplies(undefined);
    const before = this.mode.kind;
    this.mode = mode;
    if (mode.kind === 'reset') for (const p of [...this.pairs]) (p.client.resetAndDestroy(), p.upstream.resetAndDestroy());
    // Leaving a blackhole: what it swallowed is gone, so the connections it held are cut (never half-delivered).
    if (before === 'blackhole' && mode.kind !== 'blackhole') for (const p of [...this.pairs]) (p.client.resetAndDestroy(), p.upstream.resetAndDestroy());
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) (p.client.destroy(), p.upstream.destroy());
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export class FaultNetwork {
  private readonly links = new Map<string, Link>();
  readonly events: FaultEvent[] = [];
  private readonly started = performance.now();

  /**
   * `nodes`: instance ids ('1'..'N') or role names. `portOf(id)`: where node id really listens, undefined before it is started (looked up at each connection, so a
   * node restarted on the same port is reached again).
   */
  constructor(
    readonly nodes: NodeId[],
    private readonly portOf: (id: NodeId) => number | undefined,
    /** Where a node listens when it is not this machine's loopback (a broker in Docker: `localhost`, a remote host). */
    hostOf: (id: NodeId) => string = () => '127.0.0.1',
  ) {
    for (const from of [CLIENT, ...nodes]) {
      for (const to of nodes) if (from !== to) this.links.set(`${from}>${to}`, new Link(from, to, () => this.portOf(to), hostOf(to)));
    }
  }

  now(): number {
    return Math.round((performance.now() - this.started) * 10) / 10;
  }

  async listen(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.listen()));
  }

  private link(from: NodeId, to: NodeId): Link {
    const l = this.links.get(`${from}>${to}`);
    if (!l) throw new Error(`no link ${from} -> ${to}`);
    return l;
  }

  /** The address node `from` must use to reach node `to` (127.0.0.1:port of the proxy). */
  address(from: NodeId, to: NodeId): string {
    return `127.0.0.1:${this.link(from, to).port}`;
  }

  /** http://127.0.0.1:port through which the grader's client reaches node `to`. */
  clientUrl(to: NodeId): string {
    return `http://${this.address(CLIENT, to)}`;
  }

  /** PEERS for node `id`: "2=127.0.0.1:40001,3=127.0.0.1:40002" (every other node by name, through the proxies). */
  peersEnv(id: NodeId): string {
    return this.nodes
      .filter((n) => n !== id)
      .map((n) => `${n}=${this.address(id, n)}`)
      .join(',');
  }

  private record(what: string): void {
    this.events.push({ at: this.now(), what });
  }

  private setBoth(a: NodeId, b: NodeId, mode: LinkMode): void {
    this.link(a, b).set(mode);
    this.link(b, a).set(mode);
  }

  /** Links between the groups blackholed, both ways; links inside each group untouched. The grader's client is unaffected. */
  partition(...groups: NodeId[][]): void {
    for (const g of groups) for (const n of g) if (!this.nodes.includes(n)) throw new Error(`partition: no node ${n} (nodes: ${this.nodes.join(', ')})`);
    for (const [i, g] of groups.entries()) for (const h of groups.slice(i + 1)) for (const a of g) for (const b of h) this.setBoth(a, b, { kind: 'blackhole' });
    this.record(`partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}`);
  }

  /** True while any link is not up (a check left a fault in place). */
  get faulty(): boolean {
    return [...this.links.values()].some((l) => l.mode.kind !== 'up' || l.replyMode !== undefined);
  }

  /** Every link back to normal. */
  heal(): void {
    for (const l of this.links.values()) l.set({ kind: 'up' });
    this.record('heal');
  }

  delay(from: NodeId, to: NodeId, ms: number): void {
    this.link(from, to).set({ kind: 'delay', ms });
    this.record(`delay ${name(from)} -> ${name(to)} by ${ms} ms`);
  }

  drop(from: NodeId, to: NodeId): void {
    this.link(from, to).set({ kind: 'blackhole' });
    this.record(`drop ${name(from)} -> ${name(to)}`);
  }

  /** Requests from `from` reach `to` (and are acted on); `to`'s answers are delivered ms later. */
  delayReplies(from: NodeId, to: NodeId, ms: number): void {
    this.link(from, to).setReplies({ kind: 'delay', ms });
    this.record(`delay answers ${name(to)} -> ${name(from)} by ${ms} ms`);
  }

  /** Requests from `from` reach `to` (and are acted on); `to`'s answers are swallowed. */
  dropReplies(from: NodeId, to: NodeId): void {
    this.link(from, to).setReplies({ kind: 'blackhole' });
    this.record(`drop answers ${name(to)} -> ${name(from)}`);
  }

  reset(from: NodeId, to: NodeId): void {
    this.link(from, to).set({ kind: 'reset' });
    this.record(`reset ${name(from)} -> ${name(to)}`);
  }

  /** Connections open now on the link from `from` to `to` (each one a client connected through the proxy). */
  openConnections(from: NodeId, to: NodeId): number {
    return this.link(from, to).pairs.size;
  }

  /** Bytes delivered on node-to-node links so far (to tell "the nodes never talk" from "they talk through us"). */
  peerBytes(): number {
    let n = 0;
    for (const l of this.links.values()) if (l.from !== CLIENT) n += l.bytes;
    return n;
  }

  /** The faults (since `sinceMs`), one line each with its time, for a failure transcript. */
  transcript(sinceMs = 0): string {
    return this.events
      .filter((e) => e.at >= sinceMs)
      .map((e) => `${e.at.toFixed(0).padStart(6)} ms  ${e.what}`)
      .join('\n');
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}

const name = (id: NodeId) => (id === CLIENT ? 'client' : /^\d+$/.test(id) ? `node ${id}` : id);
