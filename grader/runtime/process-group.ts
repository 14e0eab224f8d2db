// Process-group helpers: the learner's server runs in a group of its own so that `npm start`, the shell
// and whatever they spawn are stopped together.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The processes of some groups, from one walk of /proc: pid and state (R, S, Z...) by group. Undefined where
 * /proc cannot be read (not Linux). `proc` is another root for tests.
 */
export function groupsMembers(pgids: Iterable<number>, proc = '/proc'): Map<number, { pid: string; state: string }[]> | undefined {
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return undefined;
  }
  const out = new Map<number, { pid: string; state: string }[]>();
  for (const g of pgids) out.set(g, []);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`${proc}/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] = state, rest[1] = ppid, rest[2] = pgrp
      out.get(Number(rest[2]))?.push({ pid: entry, state: rest[0]! });
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** The processes of one group (see groupsMembers). */
export function groupMembers(pgid: number, proc = '/proc'): { pid: string; state: string }[] | undefined {
  return groupsMembers([pgid], proc)?.get(pgid);
}

/** True while any non-zombie process is left in the group. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill(0) also succeeds for zombies nobody reaped (PID 1 in a container may not reap): ask /proc.
  const members = groupMembers(pgid);
  return members === undefined || members.some((m) => m.state !== 'Z' && m.state !== 'X');
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Resolves true once the group is gone, false after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Groups still running, killed synchronously if this process exits without teardown (last resort). */
const live = new Set<number>();
let hooked = false;
export function trackGroup(pgid: number): void {
  live.add(pgid);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const g of live) signalGroup(g, 'SIGKILL');
    });
  }
}
export function untrackGroup(pgid: number): void {
  live.delete(pgid);
}

/**
 * Resident memory of every process in the group, in bytes (sum of VmRSS from /proc), or undefined when
 * /proc cannot say (not Linux, or the group is gone).
 */
export function groupRssBytes(pgid: number): number | undefined {
  let total = 0;
  let found = false;
  for (const { pid } of groupMembers(pgid) ?? []) {
    try {
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) {
        total += Number(rss[1]) * 1024;
        found = true;
      }
    } catch {
      // gone while we looked
    }
  }
  return found ? total : undefined;
}
