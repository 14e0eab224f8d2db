// replicated-kv: three nodes (replicas) that reach each other only through the grader's fault network
// (PEERS). Two stores in one server, graded in their own checks: /cp (consistent under partitions: a majority
// or 503; histories checked for linearizability) and /ap (available under partitions: counters accepted on
// both sides, converging to the sum of acknowledged increments after heal). Every check records the client
// operations as a history; a violation prints the smallest history that shows it, as a timeline, with the
// faults and their times; every run writes .labs/history.html.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailure, defineLab, describeOps, expectJson, expectThat, History, linearizable, renderTimeline, show, type CheckContext, type Op } from '../../grader/index.ts';

const SLACK_MS = 1500;
const CONVERGE_MS = 3000;

const cpTimeout = (ctx: CheckContext) => Number(ctx.env.CP_TIMEOUT_MS);
const node = (ctx: CheckContext, id: number) => ctx.instances[id - 1]!;

/** When each check began (network clock): its transcript shows only its own faults. */
const began = new WeakMap<CheckContext, number>();
const faultsOf = (ctx: CheckContext) => ctx.net.transcript(began.get(ctx) ?? 0) || '(none)';
function begin(ctx: CheckContext): void {
  began.set(ctx, ctx.net.now());
}

/** History of this run, across checks, for .labs/history.html. */
const runs = new WeakMap<CheckContext['server'], History>();
function historyOf(ctx: CheckContext): History {
  let h = runs.get(ctx.server);
  if (!h) runs.set(ctx.server, (h = new History(() => ctx.net.now())));
  return h;
}

function writeTimeline(ctx: CheckContext, title: string): void {
  const h = historyOf(ctx);
  const dir = join(ctx.projectDir, '.labs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.html'), renderTimeline(title, h.ops, ctx.net.events));
}

async function cpPut(ctx: CheckContext, h: History, client: string, id: number, key: string, value: string): Promise<Op> {
  return h.run(client, String(id), 'write', key, value, async () => {
    const res = await ctx.http.request(`${node(ctx, id).url}/cp/kv/${key}`, { method: 'PUT', body: value, headers: { 'Content-Type': 'text/plain' }, timeoutMs: cpTimeout(ctx) + SLACK_MS });
    if (res.status === 204 || res.status === 200) return { ok: true };
    // A refused write may still have reached some nodes: its outcome is unknown (info), not "did not happen".
    if (res.status === 503) throw new Error('503');
    throw new Error(`unexpected ${res.status}`);
  });
}

async function cpGet(ctx: CheckContext, h: History, client: string, id: number, key: string): Promise<Op> {
  return h.run(client, String(id), 'read', key, null, async () => {
    const res = await ctx.http.get(`${node(ctx, id).url}/cp/kv/${key}`, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
    if (res.status === 200) return { ok: true, value: res.text };
    if (res.status === 404) return { ok: true, value: null };
    if (res.status === 503) return { ok: false, note: '503' };
    throw new Error(`unexpected ${res.status}`);
  });
}

/**
 * Before the first CP operation of a run, each node is asked for a key nobody writes until it answers 404 (at
 * most WARM_MS): a node's first requests to its peers pay for opening connections and loading code, and on a
 * busy machine that alone can outlast CP_TIMEOUT_MS. A 503 then says nothing about the node's logic, so it is
 * not put in the history; a node that never answers 404 is judged by the check as before.
 */
const WARM_MS = 3000;
const warmed = new WeakSet<CheckContext['server']>();
async function warmCp(ctx: CheckContext): Promise<void> {
  if (warmed.has(ctx.server)) return;
  warmed.add(ctx.server);
  const t0 = performance.now();
  const tries = await Promise.all(
    ctx.instances.map(async (instance) => {
      for (let n = 1; ; n++) {
        const res = await ctx.http.get(`${instance.url}/cp/kv/warm-up-${ctx.random.string(6)}`, { timeoutMs: cpTimeout(ctx) + SLACK_MS }).catch(() => undefined);
        if (res?.status === 404) return `${n} ${n === 1 ? 'try' : 'tries'}`;
        if (performance.now() - t0 > WARM_MS) return `no 404 in ${n} tries`;
        await ctx.sleep(50);
      }
    }),
  );
  ctx.note(`warm-up, a read of an unwritten key on each node: ${tries.map((t, i) => `node ${i + 1}: ${t}`).join(', ')}, ${Math.round(performance.now() - t0)} ms`);
}

function opFailure(ctx: CheckContext, o: Op, message: string, expected: string): never {
  throw new CheckFailure({
    message,
    expected,
    received: `${o.type === 'ok' ? `ok${o.f === 'read' ? ` ${show(o.value)}` : ''}` : o.note ?? o.type}${o.complete === Infinity ? '' : ` after ${Math.round(o.complete - o.invoke)} ms`}`,
    transcript: `${describeOps(historyOf(ctx).ops.filter((o) => o.invoke >= (began.get(ctx) ?? 0)).slice(-8))}\n\nfaults:\n${faultsOf(ctx)}`,
    transcriptTitle: 'History of this check (ms since the run began; ? = no answer) and the faults the grader injected',
  });
}

function expectLinearizable(ctx: CheckContext, ops: Op[], what: string): void {
  const r = linearizable(ops);
  ctx.note(`${what}: ${r.checked} operations checked for linearizability in ${r.ms} ms`);
  if (!r.ok) {
    throw new CheckFailure({
      message: `${what}: the history of key ${r.key} is not linearizable: no order of these operations, each taking effect between its start and its answer, explains what the reads returned. Below, the smallest part of the history that shows it . A read must never return a value older than a write that completed before the read began: answer only what a majority confirms, and write back what you read.`,
      expected: 'a linearizable history',
      received: `${r.witness!.length} operations (below)`,
      transcript: `${describeOps(r.witness!)}\n\nfaults:\n${faultsOf(ctx)}`,
      transcriptTitle: 'The smallest history that shows it (ms since the run began; ? = no answer) and the faults the grader injected',
    });
  }
}

async function apIncrement(ctx: CheckContext, id: number, name: string): Promise<{ ok: boolean; ms: number; status: number | string }> {
  const t0 = performance.now();
  try {
    const res = await ctx.http.post(`${node(ctx, id).url}/ap/counters/${name}/increment`, undefined, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
    return { ok: res.status === 200, ms: Math.round(performance.now() - t0), status: res.status };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), status: err instanceof CheckFailure ? (err.details.transport ?? 'error') : 'error' };
  }
}

async function apRead(ctx: CheckContext, id: number, name: string): Promise<number | undefined> {
  const res = await ctx.http.get(`${node(ctx, id).url}/ap/counters/${name}`, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
  const body = expectJson<{ value?: unknown }>(res, 200, `GET /ap/counters/${name} on node ${id}`);
  return typeof body?.value === 'number' ? body.value : undefined;
}

// --- AP register: last writer wins on a hybrid logical clock ------------------------------------------------

type Version = [number, number, number];
const isVersion = (v: unknown): v is Version => Array.isArray(v) && v.length === 3 && v.every((n) => Number.isSafeInteger(n) && n >= 0);
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const fmtVersion = (v: unknown) => (isVersion(v) ? `[${v.join(', ')}]` : show(v));
/** A node's clock and the grader's are the same machine's; a request's timestamp may still be read a moment apart. */
const CLOCK_SLACK_MS = 1000;

/** Values that break hand-written serialisation between nodes: quotes, backslashes, newlines, non-ASCII. */
function hardValue(ctx: CheckContext, label: string): string {
  return `${label}-${ctx.random.string(6)} "quoted" back\\slash\nnew line, café ✓ 日本 🚀`;
}

interface ApWrite {
  op: Op;
  status: number | string;
  version?: Version;
  raw?: unknown;
  ms: number;
  /** Wall-clock window of the request, to judge the timestamp. */
  wall: [number, number];
}

async function apPut(ctx: CheckContext, h: History, client: string, id: number, key: string, value: string): Promise<ApWrite> {
  const out: Partial<ApWrite> = {};
  const wall0 = Date.now();
  const t0 = performance.now();
  const op = await h.run(client, String(id), 'write', key, value, async () => {
    const res = await ctx.http.request(`${node(ctx, id).url}/ap/kv/${key}`, { method: 'PUT', body: value, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, timeoutMs: cpTimeout(ctx) + SLACK_MS });
    out.status = res.status;
    if (res.status !== 200) return { ok: false, note: String(res.status) };
    let body: { version?: unknown } | undefined;
    try {
      body = JSON.parse(res.text) as { version?: unknown };
    } catch {
      body = undefined;
    }
    out.raw = body?.version;
    if (isVersion(body?.version)) out.version = body.version;
    return { ok: true, note: `version ${fmtVersion(body?.version)}` };
  });
  if (op.type === 'info') out.status = op.note ?? 'no answer';
  return { op, status: out.status ?? '?', version: out.version, raw: out.raw, ms: Math.round(performance.now() - t0), wall: [wall0, Date.now()] };
}

interface ApRead {
  status: number;
  value?: string;
  version?: Version;
}

async function apGet(ctx: CheckContext, h: History, client: string, id: number, key: string): Promise<ApRead> {
  const out: ApRead = { status: 0 };
  await h.run(client, String(id), 'read', key, null, async () => {
    const res = await ctx.http.get(`${node(ctx, id).url}/ap/kv/${key}`, { timeoutMs: cpTimeout(ctx) + SLACK_MS });
    out.status = res.status;
    if (res.status === 404) return { ok: true, value: null, note: '404' };
    const body = expectJson<{ value?: unknown; version?: unknown }>(res, 200, `GET /ap/kv/${key} on node ${id}`);
    if (typeof body?.value !== 'string' || !isVersion(body.version)) {
      throw new CheckFailure({
        message: `GET /ap/kv/{key} must answer {"key", "value", "version"}: value a string, version [ms, counter, node] (three non-negative integers). Node ${id} answered ${show(body)}.`,
        expected: '{"key": "...", "value": "...", "version": [ms, counter, node]}',
        received: show(body),
      });
    }
    out.value = body.value;
    out.version = body.version;
    return { ok: true, value: body.value, note: `version ${fmtVersion(body.version)}` };
  });
  return out;
}

function apFailure(ctx: CheckContext, message: string, expected: string, received: string): never {
  throw new CheckFailure({
    message,
    expected,
    received,
    transcript: `${describeOps(historyOf(ctx).ops.filter((o) => o.invoke >= (began.get(ctx) ?? 0)).slice(-12))}\n\nfaults:\n${faultsOf(ctx)}`,
    transcriptTitle: 'History of this check (ms since the run began; ? = no answer) and the faults the grader injected',
  });
}

/** A write must be answered at once, with a version from this node's clock (never behind it, never ahead of now). */
function expectApWrite(ctx: CheckContext, w: ApWrite, id: number, what: string): Version {
  if (w.status !== 200 || w.ms > cpTimeout(ctx)) {
    apFailure(ctx, `${what}: PUT /ap/kv/{key} on node ${id} must answer 200 at once (within CP_TIMEOUT_MS, ${cpTimeout(ctx)} ms), partition or not; it answered ${w.status} after ${w.ms} ms. An AP write never waits for a peer: store it locally, gossip it later.`, `200 within ${cpTimeout(ctx)} ms`, `${w.status} after ${w.ms} ms`);
  }
  if (!w.version) apFailure(ctx, `${what}: PUT /ap/kv/{key} must answer {"key", "version": [ms, counter, node]} (three non-negative integers); node ${id} answered version ${show(w.raw)}.`, '{"version": [ms, counter, node]}', show(w.raw));
  const [ms, , nodeId] = w.version;
  if (nodeId !== id) apFailure(ctx, `${what}: the last part of a version is the node that wrote it: node ${id} answered ${fmtVersion(w.version)}.`, `[ms, counter, ${id}]`, fmtVersion(w.version));
  if (ms < w.wall[0] - CLOCK_SLACK_MS || ms > w.wall[1] + CLOCK_SLACK_MS) {
    apFailure(
      ctx,
      `${what}: the first part of a version is a hybrid logical clock's time: this node's clock in milliseconds since the epoch (or a higher time it has seen). Node ${id} answered ${fmtVersion(w.version)} for a write made at ${w.wall[0]}. A counter alone (a Lamport clock) orders writes by how many each node made, not by when they were made, so last-writer-wins would keep an older write.`,
      `ms between ${w.wall[0] - CLOCK_SLACK_MS} and ${w.wall[1] + CLOCK_SLACK_MS}`,
      fmtVersion(w.version),
    );
  }
  return w.version;
}

export default defineLab(
  {
    id: 'replicated-kv',
    title: 'Replicated key-value store: CP and AP under partitions',
    track: 'scaling',
    summary: 'Three nodes behind a network the grader breaks on purpose: a register that stays linearizable (a majority or 503) and counters that stay available and converge after the partition heals.',
    difficulty: 'advanced',
    estimatedMinutes: 180,
    questions: [1, 2],
    // Path parameters start here: sent with malformed escapes by the engine's malformed-requests check.
    malformedRequests: { paths: ['/kv/'] },
    replicas: 3,
    network: true,
    env: {
      CP_TIMEOUT_MS: { description: 'How long a node waits for its peers before answering 503 (CP store), in ms (300 to 500).', value: (r) => String(r.int(300, 500)) },
      GOSSIP_MS: { description: 'How often a node sends its AP state to its peers, in ms (the grader uses 200).', value: () => '200' },
    },
    checks: [
      {
        id: 'cp-read-write',
        title: 'CP: a write on one node is read on every node, even from a replica that got it late',
        hint: 'Quorums: a write stores (version+1) on a majority before answering; a read asks a majority and answers the highest version. A node that answers from its own copy returns what a slow link has not delivered yet.',
        async run(ctx) {
          begin(ctx);
          await warmCp(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          const v1 = `v1-${ctx.random.string(8)}`;
          const v2 = `v2-${ctx.random.string(8)}`;
          const ops: Op[] = [];
          const missing = await cpGet(ctx, h, 'c1', 2, key);
          ops.push(missing);
          if (missing.type !== 'ok' || missing.value !== null) opFailure(ctx, missing, `GET /cp/kv/{key} of a key never written must be 404 (node 2 answered ${missing.note ?? show(missing.value)}).`, '404');
          ctx.net.delay(1, 3, 600); // node 3 gets node 1's messages late
          const w = await cpPut(ctx, h, 'c1', 1, key, v1);
          ops.push(w);
          if (w.type !== 'ok') opFailure(ctx, w, 'PUT /cp/kv/{key} on node 1 with every node up must answer 204 (or 200).', '204');
          for (const id of [3, 2]) {
            const r = await cpGet(ctx, h, 'c2', id, key);
            ops.push(r);
            if (r.type !== 'ok') opFailure(ctx, r, `GET on node ${id} with every node up must answer 200.`, `200 ${show(v1)}`);
          }
          ctx.net.heal();
          ops.push(await cpPut(ctx, h, 'c3', 3, key, v2));
          for (const id of [1, 2, 3]) ops.push(await cpGet(ctx, h, 'c1', id, key));
          writeTimeline(ctx, 'replicated-kv');
          expectLinearizable(ctx, ops, 'Writes on node 1 and node 3, reads on every node (node 1 -> node 3 delayed 600 ms at first)');
        },
      },
      {
        id: 'cp-majority-side',
        title: 'CP: during a partition the majority side keeps accepting writes and reads',
        hint: 'A majority of three is two: node 2 and node 3 together can write and read without node 1. Wait for a majority of answers, not for every node.',
        async run(ctx) {
          begin(ctx);
          await warmCp(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const value = `maj-${ctx.random.string(8)}`;
          const w = await cpPut(ctx, h, 'c1', 2, key, value);
          if (w.type !== 'ok') opFailure(ctx, w, `With node 1 cut off, node 2 and node 3 are a majority: PUT on node 2 must succeed (it answered ${w.note ?? w.type}). Do not wait for every node.`, '204');
          const r = await cpGet(ctx, h, 'c2', 3, key);
          if (r.type !== 'ok' || r.value !== value) opFailure(ctx, r, 'On the majority side, a read on node 3 must return the write just made on node 2.', `200 ${show(value)}`);
          writeTimeline(ctx, 'replicated-kv');
        },
      },
      {
        id: 'cp-minority-refuses',
        title: 'CP: the minority side refuses (503) within CP_TIMEOUT_MS, and never serves a stale value',
        hint: 'Without answers from a majority within CP_TIMEOUT_MS, answer 503: availability is what a CP store gives up during a partition. Reads too: node 1 alone cannot know whether the others wrote something newer.',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          await warmCp(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          const ops: Op[] = [];
          const before = `before-${ctx.random.string(6)}`;
          ops.push(await cpPut(ctx, h, 'c1', 1, key, before));
          if (ops[0]!.type !== 'ok') opFailure(ctx, ops[0]!, 'PUT on node 1 with every node up must answer 204.', '204');
          ctx.net.partition([1], [2, 3]);
          const after = `after-${ctx.random.string(6)}`;
          const w2 = await cpPut(ctx, h, 'c2', 2, key, after);
          ops.push(w2);
          if (w2.type !== 'ok') opFailure(ctx, w2, 'The majority side (nodes 2 and 3) must accept a write during the partition.', '204');
          const budget = cpTimeout(ctx) + SLACK_MS;
          const peerBytes = ctx.net.peerBytes();
          const t1 = performance.now();
          const w = await cpPut(ctx, h, 'c3', 1, key, `minority-${ctx.random.string(6)}`);
          ops.push(w);
          if (w.type === 'ok') {
            opFailure(ctx, w, `Node 1 is cut off from both peers, yet it accepted a write${ctx.net.peerBytes() === peerBytes ? ' without a single byte reaching its peers through PEERS: does it talk to them by another way?' : ''}. A CP store must refuse (503) without a majority.`, '503');
          }
          const took = performance.now() - t1;
          if (w.note !== '503' || took > budget) opFailure(ctx, w, `During the partition, PUT on node 1 must answer 503 within CP_TIMEOUT_MS (${cpTimeout(ctx)} ms, the grader allows ${budget}): a CP store says no, it does not hang.`, `503 within ${budget} ms`);
          const r = await cpGet(ctx, h, 'c3', 1, key);
          ops.push(r);
          if (r.type === 'info' || (r.type === 'fail' && r.complete - r.invoke > budget)) opFailure(ctx, r, `During the partition, GET on node 1 must answer 503 within ${budget} ms.`, '503');
          writeTimeline(ctx, 'replicated-kv');
          expectLinearizable(ctx, ops, 'A write before the partition, one on the majority side, a write and a read on node 1 alone');
          if (r.type === 'ok') opFailure(ctx, r, 'During the partition node 1 answered a read alone: a CP store refuses (503) without a majority, even if its own copy happened to be current.', '503');
        },
      },
      {
        id: 'cp-heal',
        title: 'CP: after the partition heals, the node that was cut off reads the latest value and writes again',
        hint: 'Nothing special to do if reads and writes always use a majority: after heal node 1 is part of one again. Make sure a peer call that hung during the partition does not stay stuck (timeouts on every call).',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          await warmCp(ctx);
          const h = historyOf(ctx);
          const key = `k${ctx.random.string(6)}`;
          const ops: Op[] = [];
          ctx.net.partition([1], [2, 3]);
          const v = `during-${ctx.random.string(6)}`;
          ops.push(await cpPut(ctx, h, 'c1', 3, key, v));
          ctx.net.heal();
          const r = await cpGet(ctx, h, 'c2', 1, key);
          ops.push(r);
          if (r.type !== 'ok') opFailure(ctx, r, 'After the partition healed, GET on node 1 must answer 200 again.', `200 ${show(v)}`);
          const v2 = `healed-${ctx.random.string(6)}`;
          const w = await cpPut(ctx, h, 'c2', 1, key, v2);
          ops.push(w);
          if (w.type !== 'ok') opFailure(ctx, w, 'After the partition healed, PUT on node 1 must succeed again.', '204');
          ops.push(await cpGet(ctx, h, 'c1', 2, key));
          writeTimeline(ctx, 'replicated-kv');
          expectLinearizable(ctx, ops, 'A write during a partition, then reads and a write on the node that was cut off');
        },
      },
      {
        id: 'ap-available',
        title: 'AP: during a partition both sides accept increments at once, and each node counts its own',
        hint: 'An AP increment never waits for a peer: count it locally (per node) and answer. Peers learn about it later by gossip.',
        async run(ctx) {
          begin(ctx);
          const name = `c${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const plan = [1, 1, 2, 3, 1, 2, 3, 1, 2, 1];
          const results = [];
          for (const id of plan) results.push({ id, ...(await apIncrement(ctx, id, name)) });
          const bad = results.find((r) => !r.ok || r.ms > cpTimeout(ctx));
          if (bad) {
            throw new CheckFailure({
              message: `During a partition an AP increment must be accepted at once on either side; node ${bad.id} answered ${bad.status} after ${bad.ms} ms. Do not wait for peers: count locally and gossip later.`,
              expected: `200 within ${cpTimeout(ctx)} ms on every node`,
              received: results.map((r) => `node ${r.id}: ${r.status} ${r.ms} ms`).join('; '),
              transcript: faultsOf(ctx),
              transcriptTitle: 'Faults the grader injected (ms since the run began)',
            });
          }
          const n1 = plan.filter((p) => p === 1).length;
          const v1 = await apRead(ctx, 1, name);
          expectThat(v1 === n1, `During the partition node 1 must count the ${n1} increments it accepted itself.`, { expected: String(n1), received: show(v1) });
          ctx.note(`${plan.length} increments accepted during the partition, each in at most ${Math.max(...results.map((r) => r.ms))} ms`);
        },
      },
      {
        id: 'ap-converge',
        title: `AP: after heal every node converges to the sum of acknowledged increments within ${CONVERGE_MS / 1000} s`,
        hint: 'A G-counter: each node keeps one count per node; it gossips its map every GOSSIP_MS and merges what it receives by taking, per node, the highest count. The value is the sum. Overwriting the map (last writer wins) loses increments; adding the counts counts them twice.',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          const name = `c${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const plan = [1, 2, 3, 1, 2, 2, 3, 1, 3, 2, 1, 1];
          let acked = 0;
          for (const id of plan) if ((await apIncrement(ctx, id, name)).ok) acked++;
          ctx.net.heal();
          const t0 = performance.now();
          let values: (number | undefined)[] = [];
          while (performance.now() - t0 < CONVERGE_MS) {
            values = await Promise.all([1, 2, 3].map((id) => apRead(ctx, id, name)));
            if (values.every((v) => v === acked)) break;
            await ctx.sleep(100);
          }
          if (!values.every((v) => v === acked)) {
            const over = values.some((v) => (v ?? 0) > acked);
            throw new CheckFailure({
              message: `${CONVERGE_MS / 1000} s after the partition healed, the nodes must all report the ${acked} acknowledged increments, but they report ${values.map((v, i) => `node ${i + 1}: ${show(v)}`).join(', ')}. ${over ? 'More than were made: merging adds counts that were already counted. Merge by taking the highest count per node.' : values.every((v) => v === values[0]) ? 'They agree on a smaller number: a merge that replaces one node\'s state with another\'s loses increments.' : 'They do not exchange their state: gossip it to every peer every GOSSIP_MS.'}`,
              expected: `${acked} on every node within ${CONVERGE_MS} ms`,
              received: values.map((v, i) => `node ${i + 1}: ${show(v)}`).join(', '),
              transcript: faultsOf(ctx),
              transcriptTitle: 'Faults the grader injected (ms since the run began)',
            });
          }
          ctx.note(`converged to ${acked} on all three nodes ${Math.round(performance.now() - t0)} ms after heal`);
        },
      },

      {
        id: 'ap-kv-available',
        title: 'AP register: during a partition both sides accept writes at once, stamped by a hybrid logical clock, and each node reads its own',
        hint: 'An AP write is stored locally and answered at once with its version [ms, counter, node]: ms = max(your clock, the highest ms you have seen), counter = 0 when ms moved forward, else previous counter + 1. A read answers the node\'s own copy.',
        async run(ctx) {
          begin(ctx);
          const h = historyOf(ctx);
          const key = `r${ctx.random.string(6)}`;
          const empty = `e${ctx.random.string(6)}`;
          ctx.net.partition([1], [2, 3]);
          const versions = new Map<number, Version[]>();
          const written = new Map<number, string>();
          for (const [id, label] of [[1, 'one'], [2, 'two'], [1, 'one-again'], [3, 'three'], [1, 'one-last']] as const) {
            const value = hardValue(ctx, label);
            const w = await apPut(ctx, h, `c${id}`, id, key, value);
            const v = expectApWrite(ctx, w, id, 'During a partition');
            const mine = versions.get(id) ?? [];
            const prev = mine.at(-1);
            if (prev && cmp(v, prev) <= 0) apFailure(ctx, `Each write on a node gets a version higher than every version that node has seen: node ${id} stamped a write ${fmtVersion(v)} after one it stamped ${fmtVersion(prev)}. Within one millisecond, raise the counter.`, `a version above ${fmtVersion(prev)}`, fmtVersion(v));
            mine.push(v);
            versions.set(id, mine);
            written.set(id, value);
          }
          // Read your own writes: node 1 is alone, so its latest write is the newest it can know.
          const r1 = await apGet(ctx, h, 'c1', 1, key);
          if (r1.status !== 200 || r1.value !== written.get(1)) {
            apFailure(ctx, `During the partition node 1 must return its own latest write (it cannot know a newer one): it answered ${r1.status} ${show(r1.value)}.${r1.value !== undefined && r1.value !== written.get(1) && [...written.values()].includes(r1.value) ? ' That is an older write: keep the highest version per key.' : r1.value !== undefined && ![...written.values()].includes(r1.value) ? ' Nobody wrote that value: check how values are stored and escaped (quotes, backslashes, newlines, non-ASCII).' : ''}`, `200 ${show(written.get(1))}`, `${r1.status} ${show(r1.value)}`);
          }
          // Node 3 reads a value from its own side (its own write, or node 2's if gossip already carried it), never an invented one.
          const r3 = await apGet(ctx, h, 'c3', 3, key);
          if (r3.status !== 200 || (r3.value !== written.get(3) && r3.value !== written.get(2))) {
            apFailure(ctx, `During the partition node 3 must return a value written on its side (its own, or node 2's): it answered ${r3.status} ${show(r3.value)}. Reads may be stale in an AP store, never invented.`, `200 ${show(written.get(3))}`, `${r3.status} ${show(r3.value)}`);
          }
          // An empty value is a value.
          const we = await apPut(ctx, h, 'c3', 3, empty, '');
          expectApWrite(ctx, we, 3, 'An empty value during a partition');
          const re = await apGet(ctx, h, 'c3', 3, empty);
          if (re.status !== 200 || re.value !== '') apFailure(ctx, 'PUT /ap/kv/{key} with an empty body stores the empty string: GET on the same node must answer 200 with "value": "" (not 404).', '200 {"value": ""}', `${re.status} ${show(re.value)}`);
          writeTimeline(ctx, 'replicated-kv');
          ctx.note(`6 AP writes during the partition, each answered within ${cpTimeout(ctx)} ms; versions on node 1: ${versions.get(1)!.map(fmtVersion).join(' < ')}`);
        },
      },
      {
        id: 'ap-kv-last-writer-wins',
        title: `AP register: after heal every node converges to the last write (highest version) within ${CONVERGE_MS / 1000} s, and no node goes back`,
        hint: 'Gossip every key\'s {value, version} every GOSSIP_MS; on receipt keep the one with the higher version (ms, then counter, then node). Keeping what arrived last, or your own write, makes nodes disagree; a Lamport counter makes the node that wrote most win, not the one that wrote last.',
        timeoutMs: 20_000,
        async run(ctx) {
          begin(ctx);
          const h = historyOf(ctx);
          const key = `r${ctx.random.string(6)}`;
          // Before the partition: node 2 writes three times and every node learns it.
          let seen: ApWrite | undefined;
          for (let i = 0; i < 3; i++) seen = await apPut(ctx, h, 'c2', 2, key, hardValue(ctx, `before-${i}`));
          expectApWrite(ctx, seen!, 2, 'Before the partition');
          const t0 = performance.now();
          let agreed = false;
          while (!agreed && performance.now() - t0 < CONVERGE_MS) {
            const rs = await Promise.all([1, 3].map((id) => apGet(ctx, h, 'c9', id, key)));
            agreed = rs.every((r) => r.status === 200 && r.value === seen!.op.value);
            if (!agreed) await ctx.sleep(100);
          }
          if (!agreed) apFailure(ctx, `With every node up, nodes 1 and 3 must learn node 2's write within ${CONVERGE_MS / 1000} s (gossip every GOSSIP_MS).`, show(seen!.op.value), 'not learned');
          // During the partition: node 2 writes three more times (older in time), then node 1 writes once, last.
          ctx.net.partition([1], [2, 3]);
          const older: ApWrite[] = [];
          for (let i = 0; i < 3; i++) older.push(await apPut(ctx, h, 'c2', 2, key, hardValue(ctx, `side-b-${i}`)));
          for (const w of older) expectApWrite(ctx, w, 2, 'During the partition');
          await ctx.sleep(20);
          const last = await apPut(ctx, h, 'c1', 1, key, hardValue(ctx, 'last'));
          const lastVersion = expectApWrite(ctx, last, 1, 'During the partition');
          const winner = [...older, last].reduce((a, b) => (cmp(b.version!, a.version!) > 0 ? b : a));
          if (winner !== last) {
            apFailure(ctx, `Node 1 wrote last (${Math.round(last.wall[0] - older.at(-1)!.wall[1])} ms after node 2's last write), but its version ${fmtVersion(lastVersion)} is lower than node 2's ${fmtVersion(winner.version)}: last-writer-wins would keep the older write. The time part of a version comes from the node's clock.`, `a version above ${fmtVersion(winner.version)}`, fmtVersion(lastVersion));
          }
          ctx.net.heal();
          // Node 1's messages reach its peers late, theirs reach node 1 at once: node 1 hears node 2's older
          // writes before the others hear its newer one, so a node that keeps what arrived last goes back.
          ctx.net.delay(1, 2, 500);
          ctx.net.delay(1, 3, 500);
          // Every node converges to node 1's write; a client reading node 1 never sees the version go back.
          const healed = performance.now();
          let values: ApRead[] = [];
          let node1Max: Version = lastVersion;
          while (performance.now() - healed < CONVERGE_MS) {
            values = await Promise.all([1, 2, 3].map((id) => apGet(ctx, h, 'c1', id, key)));
            const v1 = values[0]!;
            if (v1.version && cmp(v1.version, node1Max) < 0) {
              apFailure(ctx, `After the heal, node 1 went back from version ${fmtVersion(node1Max)} to ${fmtVersion(v1.version)} (${show(v1.value)}): a node must keep the higher version, not the one that arrived last. A client reading one node must never see time go backwards (monotonic reads).`, `version ${fmtVersion(node1Max)} or higher`, `${fmtVersion(v1.version)} ${show(v1.value)}`);
            }
            if (v1.version) node1Max = cmp(v1.version, node1Max) > 0 ? v1.version : node1Max;
            if (values.every((r) => r.status === 200 && r.value === last.op.value)) break;
            await ctx.sleep(100);
          }
          const convergedMs = Math.round(performance.now() - healed);
          // Converged means it stays so: two more gossip rounds, and every node still has the last write.
          if (values.every((r) => r.status === 200 && r.value === last.op.value)) {
            await ctx.sleep(2 * Number(ctx.env.GOSSIP_MS));
            values = await Promise.all([1, 2, 3].map((id) => apGet(ctx, h, 'c1', id, key)));
          }
          writeTimeline(ctx, 'replicated-kv');
          if (!values.every((r) => r.status === 200 && r.value === last.op.value)) {
            const olderValues = older.map((w) => w.op.value);
            const agree = values.every((r) => r.value === values[0]!.value);
            const cause = agree && olderValues.includes(values[0]!.value ?? null)
              ? 'They agree on one of node 2\'s older writes: versions must order writes by time (a hybrid logical clock), so the last write wins.'
              : agree
                ? 'They agree on a value that is not the last write.'
                : values.some((r) => r.value === last.op.value)
                  ? 'They disagree: each keeps what it wrote, or what arrived last. Keep the value with the highest version (ms, then counter, then node), and gossip every key to every peer.'
                  : 'None has node 1\'s write: gossip every key\'s value and version to every peer every GOSSIP_MS, and keep the higher version.';
            apFailure(ctx, `${CONVERGE_MS / 1000} s after the partition healed every node must return the last write (node 1's, version ${fmtVersion(lastVersion)}). ${cause}`, `${show(last.op.value)} on every node`, values.map((r, i) => `node ${i + 1}: ${r.status} ${show(r.value)} ${fmtVersion(r.version)}`).join('\n'));
          }
          ctx.note(`converged to node 1's last write (version ${fmtVersion(lastVersion)}) on all three nodes ${convergedMs} ms after heal (node 1's messages delayed 500 ms), and stayed`);
        },
      },
    ],
  },
  import.meta.dirname,
);
