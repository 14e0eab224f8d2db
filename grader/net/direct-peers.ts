// Nodes must reach each other only through the addresses in PEERS (the fault network's proxies): a partition
// the grader injects acts on those links alone. A node that connects to a peer's own PORT instead (learnt from
// a message, or guessed) escapes every fault, and its checks would pass or fail for the wrong reason. This
// watches the kernel's tables (Linux /proc) for connections from one node's process group to another node's
// own port, while each check runs.
//
// The grader's event loop also carries every proxied byte between the nodes, so the watch never blocks it:
// every /proc read is asynchronous, group membership (a walk of all of /proc) is refreshed only every few
// seconds, and samples do not overlap.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { parseConnectionTable, type TcpConnection } from '../runtime/listening.ts';

export interface WatchedNode {
  id: string;
  /** The node's process group, while it runs. */
  pgid(): number | undefined;
  /** The port the node itself listens on (not its proxy). */
  port(): number | undefined;
}

export interface DirectConnection {
  from: string;
  to: string;
  /** The address it connected to, e.g. 127.0.0.1:41234. */
  address: string;
}

const LOCAL = /^(127\.|::1$|::ffff:127\.|0\.0\.0\.0$|::$)/;
const MEMBERSHIP_TTL_MS = 3000;

/** Pids of the (non-zombie) processes of each group, from one asynchronous walk of /proc. */
async function groupsPids(pgids: number[], proc: string): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>(pgids.map((g) => [g, []]));
  let entries: string[];
  try {
    entries = await readdir(proc);
  } catch {
    return out;
  }
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      try {
        const stat = await readFile(`${proc}/${entry}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (rest[0] !== 'Z' && rest[0] !== 'X') out.get(Number(rest[2]))?.push(Number(entry));
      } catch {
        // gone while we looked
      }
    }),
  );
  return out;
}

async function socketInodes(pids: number[], proc: string): Promise<Set<string>> {
  const inodes = new Set<string>();
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`${proc}/${pid}/fd`);
      } catch {
        return;
      }
      await Promise.all(
        fds.map(async (fd) => {
          try {
            const link = await readlink(`${proc}/${pid}/fd/${fd}`);
            if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
          } catch {
            // closed meanwhile
          }
        }),
      );
    }),
  );
  return inodes;
}

async function connectionTables(pid: number, proc: string): Promise<TcpConnection[]> {
  const all: TcpConnection[] = [];
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    try {
      all.push(...parseConnectionTable(await readFile(`${proc}/${pid}/net/${file}`, 'utf8'), family));
    } catch {
      // no IPv6, or not Linux
    }
  }
  return all;
}

/** Samples while a check runs; keeps the first direct connection seen (one is enough to say so). */
export class DirectPeerWatch {
  private first?: DirectConnection;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private sampledAt = -Infinity;
  private members?: { at: number; pgids: string; pids: Map<number, number[]> };

  constructor(
    private readonly nodes: WatchedNode[],
    private readonly everyMs = 500,
    private readonly proc = '/proc',
  ) {}

  start(): this {
    if (process.platform !== 'linux' && this.proc === '/proc') return this;
    // Not at once: a check's first requests go out now, and the nodes' first calls to each other with them.
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
    return this;
  }

  private tick(): void {
    if (this.running || this.first) return;
    this.running = this.sample()
      .then((d) => {
        this.first ??= d;
        this.sampledAt = performance.now();
      })
      .catch(() => {})
      .finally(() => (this.running = undefined));
  }

  /** Connections from one node to another node's own port, right now (the first one found). */
  async sample(): Promise<DirectConnection | undefined> {
    const groups = new Map<number, WatchedNode>();
    for (const n of this.nodes) {
      const g = n.pgid();
      if (g !== undefined) groups.set(g, n);
    }
    if (groups.size < 2) return undefined;
    const ports = new Map<number, string>();
    for (const n of this.nodes) {
      const p = n.port();
      if (p !== undefined) ports.set(p, n.id);
    }
    const key = [...groups.keys()].sort().join(',');
    if (!this.members || this.members.pgids !== key || performance.now() - this.members.at > MEMBERSHIP_TTL_MS) {
      this.members = { at: performance.now(), pgids: key, pids: await groupsPids([...groups.keys()], this.proc) };
    }
    const pids = this.members.pids;
    const anyPid = [...pids.values()].flat()[0];
    if (anyPid === undefined) return undefined;
    const [table, inodes] = await Promise.all([
      connectionTables(anyPid, this.proc),
      Promise.all([...groups.keys()].map(async (g) => [g, await socketInodes(pids.get(g) ?? [], this.proc)] as const)),
    ]);
    for (const [g, mine] of inodes) {
      const from = groups.get(g)!;
      for (const c of table) {
        if (!mine.has(c.inode)) continue;
        const to = ports.get(c.remote.port);
        if (to === undefined || to === from.id || !(LOCAL.test(c.remote.address) || c.remote.address === c.local.address)) continue;
        // This node's own accepted connections have its own port locally; an outgoing one has the peer's remotely.
        if (c.local.port === from.port()) continue;
        return { from: from.id, to, address: `${c.remote.family === 6 ? `[${c.remote.address}]` : c.remote.address}:${c.remote.port}` };
      }
    }
    return undefined;
  }

  /** Stops sampling (after one last look) and says what it saw. */
  async stop(): Promise<DirectConnection | undefined> {
    clearInterval(this.timer);
    await this.running;
    // One last look, unless one just finished (a connection held for less than that is not worth a verdict).
    if (!this.first && this.timer && performance.now() - this.sampledAt > 250) this.first = await this.sample().catch(() => undefined);
    return this.first;
  }
}

/** The sentence a failure gets, in the learner's terms. */
export function describeDirectConnection(d: DirectConnection, peersEnv: string, label: (id: string) => string): string {
  return `${label(d.from)} connected to ${label(d.to)} directly at ${d.address} (${label(d.to)}'s own PORT), not through the address PEERS gave it (${peersEnv}). The grader's faults (partitions, delays, cut links) act only on the PEERS addresses, so such a link ignores them: reach your peers only through PEERS.`;
}
