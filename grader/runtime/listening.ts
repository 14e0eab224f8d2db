// Where a process group listens, from the kernel's own tables (Linux): the socket inodes in
// /proc/<pid>/fd of every process of the group, matched against the LISTEN entries of /proc/net/tcp
// and /proc/net/tcp6. Used to say exactly why a server cannot be reached ("listens on [::1]:PORT only",
// "listens on port 3000, not PORT") instead of waiting out the ready budget. Elsewhere: empty answers.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { groupMembers } from './process-group.ts';

export interface ListenSocket {
  /** Printable address: 0.0.0.0, 127.0.0.1, ::, ::1, ... */
  address: string;
  port: number;
  family: 4 | 6;
}

/** Pids of the non-zombie processes whose process group is `pgid`. */
export function groupPids(pgid: number, proc = '/proc'): number[] {
  return (groupMembers(pgid, proc) ?? []).filter((m) => m.state !== 'Z' && m.state !== 'X').map((m) => Number(m.pid));
}

/** Socket inodes held open by these processes. */
export function socketInodes(pids: number[], proc = '/proc'): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`${proc}/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** 0100007F -> 127.0.0.1 (each 32-bit word is in host byte order: little-endian on x86 and arm). */
function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  // ::ffff:a.b.c.d (an IPv4-mapped address)
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // compress the longest run of zero groups
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** LISTEN entries of one /proc/net/tcp{,6} table, by inode. */
export function parseListenTable(text: string, family: 4 | 6): Map<string, ListenSocket> {
  const out = new Map<string, ListenSocket>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '0A') continue; // 0A = TCP_LISTEN
    const [addr, port] = f[1].split(':');
    out.set(f[9], { address: family === 4 ? ipv4(addr) : ipv6(addr), port: parseInt(port, 16), family });
  }
  return out;
}

/** A TCP connection from /proc/net/tcp{,6}: this end and the other end. */
export interface TcpConnection {
  inode: string;
  local: ListenSocket;
  remote: ListenSocket;
}

/** ESTABLISHED (01) and SYN_SENT (02) entries of one /proc/net/tcp{,6} table that belong to a process (inode > 0). */
export function parseConnectionTable(text: string, family: 4 | 6): TcpConnection[] {
  const out: TcpConnection[] = [];
  const addr = (a: string) => {
    const [host, port] = a.split(':');
    return { address: family === 4 ? ipv4(host) : ipv6(host), port: parseInt(port, 16), family };
  };
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || (f[3] !== '01' && f[3] !== '02') || f[9] === '0') continue;
    out.push({ inode: f[9], local: addr(f[1]), remote: addr(f[2]) });
  }
  return out;
}

function readTables(proc: string, netOf: string): Map<string, ListenSocket> {
  const all = new Map<string, ListenSocket>();
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    try {
      for (const [inode, s] of parseListenTable(readFileSync(`${proc}/${netOf}/net/${file}`, 'utf8'), family)) all.set(inode, s);
    } catch {
      // no IPv6, or not Linux
    }
  }
  return all;
}

/** Every TCP socket the process group listens on (empty when /proc cannot tell). */
export function groupListening(pgid: number, proc = '/proc'): ListenSocket[] {
  const pids = groupPids(pgid, proc);
  if (pids.length === 0) return [];
  const inodes = socketInodes(pids, proc);
  if (inodes.size === 0) return [];
  // The tables of the group's own network namespace (the same as ours for a local process).
  const tables = readTables(proc, String(pids[0]));
  return dedupe([...inodes].flatMap((i) => (tables.has(i) ? [tables.get(i)!] : [])));
}

/** Every TCP socket listening in the network namespace of `pid` (e.g. a container's init process). */
export function namespaceListening(pid: number, proc = '/proc'): ListenSocket[] {
  return dedupe([...readTables(proc, String(pid)).values()]);
}

function dedupe(list: ListenSocket[]): ListenSocket[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const key = `${s.address}|${s.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).sort((a, b) => a.port - b.port || a.family - b.family);
}

export function formatSocket(s: ListenSocket): string {
  return s.family === 6 && !s.address.startsWith('::ffff:') ? `[${s.address}]:${s.port}` : `${s.address.replace(/^::ffff:/, '')}:${s.port}`;
}

/** Answers connections to 127.0.0.1 (what the grader dials)? */
export function reachableOnLoopbackV4(s: ListenSocket): boolean {
  return s.address === '0.0.0.0' || s.address === '127.0.0.1' || s.address === '::' || s.address === '::ffff:127.0.0.1';
}

/** Answers connections from outside a container (the host's port mapping comes in on eth0)? */
export function reachableFromOutside(s: ListenSocket): boolean {
  return s.address === '0.0.0.0' || s.address === '::';
}

export const INSPECTOR_PORT = 9229;

/**
 * How long a server may listen only in the wrong place before we say so: it may still open PORT (a
 * process that starts helpers on other ports first). Short for [::1]:PORT (the right port, so the
 * server is up), longer for another port.
 */
export const MISPLACED_GRACE_MS = { 'wrong-address': 800, 'wrong-port': 2000 } as const;

export type ListenProblem =
  | { kind: 'wrong-address'; port: number; sockets: ListenSocket[] }
  | { kind: 'wrong-port'; port: number; sockets: ListenSocket[] };

/**
 * Why `port` cannot be reached given where the server listens, or undefined if it can (or if it does
 * not listen anywhere yet). `reachable` says which addresses count.
 */
export function listenProblem(all: ListenSocket[], port: number, reachable: (s: ListenSocket) => boolean): ListenProblem | undefined {
  // Node's inspector (`node --inspect`) listens on 127.0.0.1:9229 before the server does: not a server.
  const sockets = all.filter((s) => s.port === port || !(s.port === INSPECTOR_PORT && s.address === '127.0.0.1'));
  if (sockets.length === 0) return undefined;
  const onPort = sockets.filter((s) => s.port === port);
  if (onPort.some(reachable)) return undefined;
  if (onPort.length > 0) return { kind: 'wrong-address', port, sockets: onPort };
  return { kind: 'wrong-port', port, sockets };
}

/** One line for the learner: what is wrong and how to fix it. */
export function describeListenProblem(p: ListenProblem, where: 'local' | 'docker'): string {
  const at = p.sockets.map(formatSocket).join(', ');
  if (p.kind === 'wrong-port') {
    const ports = [...new Set(p.sockets.map((s) => s.port))].join(', ');
    return `Your server listens on port ${ports} (${at}), not on port ${p.port} from the PORT environment variable. Read the port from PORT (e.g. \`listen(Number(process.env.PORT))\`) instead of a fixed port.`;
  }
  const v6loop = p.sockets.every((s) => s.address === '::1');
  if (where === 'docker') {
    return `Your server listens on ${at} only, inside its container, so nothing outside the container can reach it. Listen on all interfaces: \`listen(PORT, '0.0.0.0')\` (or no host at all).`;
  }
  if (v6loop) {
    return `Your server listens on ${at} only (IPv6 loopback: \`listen(PORT, 'localhost')\` gives that on many systems), but clients such as the grader, curl and Docker connect to 127.0.0.1:${p.port}. Listen on all interfaces: \`listen(PORT)\` or \`listen(PORT, '0.0.0.0')\`.`;
  }
  return `Your server listens on ${at} only, which 127.0.0.1:${p.port} does not reach. Listen on all interfaces: \`listen(PORT)\` or \`listen(PORT, '0.0.0.0')\`.`;
}
