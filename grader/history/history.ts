// Operation histories and the properties checked on them (Jepsen's vocabulary). Every client operation is
// recorded as an invocation and a completion: ok (it happened, with its result), fail (it certainly did not
// happen), or info (unknown: a timeout or a cut connection; it may or may not have taken effect). Times are
// monotonic ms since the history began.
//
// Checkers:
//   linearizable(ops)       a single register per key (read/write), Wing & Gong search with memoisation; on a
//                           violation, the smallest sub-history that still shows it (greedy shrinking)
//   converged(reads)        every node answers the same value
//   readYourWrites / monotonicReads   per session
// Histories here are small (tens of operations per key): the search is exponential only in the number of
// operations that overlap in time, which the labs keep bounded.

export type OpType = 'ok' | 'fail' | 'info';

export interface Op {
  /** Who ran it: a client name ("c1") and, where it matters, the node it talked to. */
  process: string;
  node?: string;
  f: 'read' | 'write';
  key: string;
  /** write: the value written; read: the value read (ok only; null = absent). */
  value: string | null;
  type: OpType;
  invoke: number;
  /** Completion time; Infinity for info (it may take effect any time after its invocation). */
  complete: number;
  /** Extra detail for the timeline (status, error). */
  note?: string;
}

export class History {
  readonly ops: Op[] = [];
  private readonly t0 = performance.now();

  /** `clock`: ms on the same scale as the faults (e.g. ctx.net.now()); default: since the history began. */
  constructor(private readonly clock?: () => number) {}

  now(): number {
    return this.clock ? this.clock() : Math.round((performance.now() - this.t0) * 10) / 10;
  }

  /**
   * Runs `call` as one operation: ok with its value when it resolves to { ok: true, value }, fail when it
   * resolves to { ok: false } (the system said no: nothing happened), info when it throws (unknown outcome).
   */
  async run(
    process: string,
    node: string | undefined,
    f: Op['f'],
    key: string,
    value: string | null,
    call: () => Promise<{ ok: true; value?: string | null; note?: string } | { ok: false; note?: string }>,
  ): Promise<Op> {
    const invoke = this.now();
    const op: Op = { process, node, f, key, value, type: 'info', invoke, complete: Infinity };
    this.ops.push(op);
    try {
      const r = await call();
      op.complete = this.now();
      op.note = r.note;
      if (r.ok) {
        op.type = 'ok';
        if (f === 'read') op.value = r.value ?? null;
      } else op.type = 'fail';
    } catch (err) {
      op.type = 'info';
      op.note = (err as Error)?.message ?? String(err);
    }
    return op;
  }
}

export interface LinearizabilityResult {
  ok: boolean;
  /** Operations checked (ok and info; fails do not count). */
  checked: number;
  ms: number;
  /** On a violation: the smallest sub-history (of this key) that is still not linearizable. */
  witness?: Op[];
  key?: string;
}

/** Is this single-key register history linearizable from `initial`? */
function registerLinearizable(ops: Op[], initial: string | null): boolean {
  // ok and info operations; info reads constrain nothing and are dropped; info writes may or may not apply.
  const all = ops.filter((o) => o.type !== 'fail' && !(o.type === 'info' && o.f === 'read'));
  const n = all.length;
  if (n === 0) return true;
  const mustLinearize = all.map((o) => o.type === 'ok');
  const seen = new Set<string>();
  const full = (1n << BigInt(n)) - 1n;
  const requiredMask = all.reduce((m, o, i) => (mustLinearize[i] ? m | (1n << BigInt(i)) : m), 0n);

  const search = (done: bigint, state: string | null): boolean => {
    if ((done & requiredMask) === requiredMask) return true;
    const memo = `${done.toString(36)}|${state === null ? '\u0000' : state}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    // An operation may go next only if no other pending operation completed before (or as) it was invoked:
    // the grader sends an operation after it saw the previous one answered, so equal times mean "after".
    let first = Infinity;
    let second = Infinity;
    let firstAt = -1;
    for (let i = 0; i < n; i++) {
      if (done & (1n << BigInt(i))) continue;
      const c = all[i]!.complete;
      if (c < first) {
        second = first;
        first = c;
        firstAt = i;
      } else if (c < second) second = c;
    }
    for (let i = 0; i < n; i++) {
      const bit = 1n << BigInt(i);
      if (done & bit) continue;
      const o = all[i]!;
      if (o.invoke >= (i === firstAt ? second : first)) continue;
      if (o.f === 'read') {
        if (o.value === state && search(done | bit, state)) return true;
      } else if (search(done | bit, o.value)) return true;
    }
    return false;
  };
  void full;
  return search(0n, initial);
}

/** Removes operations one at a time while the history stays non-linearizable: a small witness. */
function shrink(ops: Op[], initial: string | null, deadline: number): Op[] {
  let cur = [...ops];
  let changed = true;
  while (changed && performance.now() < deadline) {
    changed = false;
    for (let i = 0; i < cur.length && performance.now() < deadline; i++) {
      const next = cur.filter((_, j) => j !== i);
      // Keep what explains each read: a witness where a value appears from nowhere says little.
      const written = new Set(next.filter((o) => o.f === 'write').map((o) => o.value));
      const explained = next.every((o) => o.f !== 'read' || o.type !== 'ok' || o.value === initial || written.has(o.value));
      if (explained && !registerLinearizable(next, initial)) {
        cur = next;
        changed = true;
        i--;
      }
    }
  }
  return cur;
}

/** Checks every key's register history; the first key that fails comes with a small witness. */
export function linearizable(ops: Op[], initial: string | null = null): LinearizabilityResult {
  const t0 = performance.now();
  const keys = [...new Set(ops.map((o) => o.key))];
  let checked = 0;
  for (const key of keys) {
    const mine = ops.filter((o) => o.key === key);
    checked += mine.filter((o) => o.type !== 'fail').length;
    if (!registerLinearizable(mine, initial)) {
      const witness = shrink(mine, initial, performance.now() + 2000);
      return { ok: false, checked, ms: Math.round(performance.now() - t0), witness, key };
    }
  }
  return { ok: true, checked, ms: Math.round(performance.now() - t0) };
}

/** Reads in a session must see the session's own last acknowledged write (or something written after it). */
export function readYourWrites(ops: Op[]): Op[] | undefined {
  const bySession = new Map<string, Op[]>();
  for (const o of ops) if (o.type === 'ok') (bySession.get(`${o.process}|${o.key}`) ?? bySession.set(`${o.process}|${o.key}`, []).get(`${o.process}|${o.key}`)!).push(o);
  for (const list of bySession.values()) {
    list.sort((a, b) => a.invoke - b.invoke);
    let lastWrite: Op | undefined;
    const laterWrites = (after: Op) => new Set(ops.filter((o) => o.f === 'write' && o.key === after.key && o.invoke >= after.invoke && o.type !== 'fail').map((o) => o.value));
    for (const o of list) {
      if (o.f === 'write') lastWrite = o;
      else if (lastWrite && o.value !== lastWrite.value && !laterWrites(lastWrite).has(o.value)) return [lastWrite, o];
    }
  }
  return undefined;
}

/** One line per operation, in invocation order: what a failure message shows. */
export function describeOps(ops: Op[]): string {
  return [...ops]
    .sort((a, b) => a.invoke - b.invoke)
    .map((o) => {
      const end = o.complete === Infinity ? '   ?   ' : `${o.complete.toFixed(0).padStart(6)} ms`;
      const what = o.f === 'write' ? `write ${JSON.stringify(o.value)}` : `read  ${o.type === 'ok' ? JSON.stringify(o.value) : '?'}`;
      return `${o.invoke.toFixed(0).padStart(6)} ms .. ${end}  ${o.process.padEnd(4)} ${o.node ? `@node ${o.node} ` : ''}${what.padEnd(24)} ${o.type}${o.note ? ` (${o.note})` : ''}`;
    })
    .join('\n');
}
